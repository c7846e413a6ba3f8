// A hit's matched fragments: the server marks which pieces matched; they are shown as <mark>, never as HTML.
import { useTranslation } from "react-i18next";

import type { HighlightFragment } from "../../api/generated/schema";

export function Fragments({ fragments }: { fragments: HighlightFragment[] }) {
  const { t } = useTranslation("search");
  return (
    <ul className="fragments">
      {fragments.map((f, i) => (
        <li key={i}>
          <span className="muted small">{t(f.section === "impression" ? "impression" : "findings")}: </span>
          {f.pieces.map((p, j) => (p.hit ? <mark key={j}>{p.text}</mark> : <span key={j}>{p.text}</span>))}
        </li>
      ))}
    </ul>
  );
}
