import { screen } from "@testing-library/react";

import { renderUi } from "../test/render";
import { QrSlip } from "./QrSlip";

test("renders a QR image of the link with who, where and how", async () => {
  const url = "https://yilian.example/s/abc.def";
  renderUi(<QrSlip url={url} patientName="Liu Bei" hospital="Anping County Hospital" date="23/11/2026" />);
  const img = await screen.findByRole("img", { name: "QR code for the patient's result link" });
  expect(img.getAttribute("src")).toMatch(/^data:image\/png;base64,/);
  expect(screen.getByText(url)).toBeInTheDocument();
  expect(screen.getByText("Liu Bei")).toBeInTheDocument();
  expect(screen.getByText("Anping County Hospital")).toBeInTheDocument();
  expect(screen.getByText("Scan to view your result; you will be asked for your birth date.")).toBeInTheDocument();
  expect(screen.getByText("扫码查看检查结果，需要输入出生日期。")).toBeInTheDocument();
});

test("a different link draws a different code", async () => {
  const first = renderUi(<QrSlip url="https://a.example/s/1" patientName="A" hospital="H" date="d" />);
  const a = (await screen.findByRole("img")).getAttribute("src");
  first.unmount();
  renderUi(<QrSlip url="https://a.example/s/2" patientName="A" hospital="H" date="d" />);
  const b = (await screen.findByRole("img")).getAttribute("src");
  expect(a).not.toEqual(b);
});
