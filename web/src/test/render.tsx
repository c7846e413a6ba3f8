// Renders a component with the app's providers (query cache, router, i18n in English) for component tests.
import "../i18n";

import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import { MemoryRouter } from "react-router-dom";

import i18n from "../i18n";

export function renderUi(ui: ReactElement, { route = "/", lang = "en" }: { route?: string; lang?: string } = {}) {
  void i18n.changeLanguage(lang);
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return {
    client,
    ...render(
      <QueryClientProvider client={client}>
        <MemoryRouter initialEntries={[route]}>{ui}</MemoryRouter>
      </QueryClientProvider>,
    ),
  };
}
