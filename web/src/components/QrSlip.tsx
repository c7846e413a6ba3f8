// The printable slip the patient takes home: a QR code of their result link, who and where, and how to use it.
import QRCode from "qrcode";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";

export interface QrSlipProps {
  url: string;
  patientName: string;
  hospital: string;
  date: string;
  expires?: string;
}

/** The QR image of `url` as a data URL (null until drawn, or if drawing failed). */
export function useQrDataUrl(url: string): string | null {
  const [dataUrl, setDataUrl] = useState<string | null>(null);
  useEffect(() => {
    let current = true;
    setDataUrl(null);
    QRCode.toDataURL(url, { errorCorrectionLevel: "M", margin: 2, width: 240 })
      .then((value) => current && setDataUrl(value))
      .catch(() => current && setDataUrl(null));
    return () => {
      current = false;
    };
  }, [url]);
  return dataUrl;
}

export function QrSlip({ url, patientName, hospital, date, expires }: QrSlipProps) {
  const { t } = useTranslation("county");
  const qr = useQrDataUrl(url);
  return (
    <div className="qr-slip" data-testid="qr-slip">
      <h3 lang="zh-CN">
        您的影像检查结果 <span lang="en">/ Your imaging result</span>
      </h3>
      <dl className="facts slip-facts">
        <dt>{t("slip.patient")}</dt>
        <dd>{patientName}</dd>
        <dt>{t("slip.hospital")}</dt>
        <dd>{hospital}</dd>
        <dt>{t("slip.date")}</dt>
        <dd>{date}</dd>
        {expires && (
          <>
            <dt>{t("slip.expires")}</dt>
            <dd>{expires}</dd>
          </>
        )}
      </dl>
      <div className="qr-box">
        {qr ? <img src={qr} alt={t("slip.qrAlt")} width={200} height={200} /> : <span className="muted">…</span>}
      </div>
      <p lang="zh-CN" className="slip-instruction">
        {t("slip.instructionZh")}
      </p>
      <p lang="en" className="slip-instruction">
        {t("slip.instructionEn")}
      </p>
      <p className="slip-url small" data-testid="share-url">
        {url}
      </p>
    </div>
  );
}
