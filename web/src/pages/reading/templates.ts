// Report templates as data: a name, the findings text a reader starts from, and the structured fields whose
// values travel in ReportBody.structured (stable English codes as values, so they read the same in any language).
export type Lang = "en" | "zh";
export type Text = Record<Lang, string>;

export interface FieldOption {
  value: string;
  label: Text;
}

export interface TemplateField {
  key: string;
  label: Text;
  type: "select" | "text";
  options?: FieldOption[];
  unit?: string;
}

export interface ReportTemplate {
  id: string;
  modality: string[];
  bodyPart: string[]; // empty: any body part
  name: Text;
  findings: Text;
  fields: TemplateField[];
}

const opt = (value: string, en: string, zh: string): FieldOption => ({ value, label: { en, zh } });
const NONE = opt("none", "None", "无");
const SIDES = [NONE, opt("left", "Left", "左侧"), opt("right", "Right", "右侧"), opt("bilateral", "Bilateral", "双侧")];
const YES_NO = [opt("no", "No", "否"), opt("yes", "Yes", "是")];

export const TEMPLATES: ReportTemplate[] = [
  {
    id: "ct-chest",
    modality: ["CT"],
    bodyPart: ["CHEST", "LUNG", "THORAX"],
    name: { en: "CT chest", zh: "胸部 CT" },
    findings: {
      en: "Lungs: no consolidation. Nodules: none.\nAirways: patent.\nPleura: no effusion or pneumothorax.\nMediastinum and hila: no enlarged lymph nodes.\nHeart and great vessels: normal size.\nBones and soft tissues: unremarkable.",
      zh: "肺野：未见实变。结节：无。\n气道：通畅。\n胸膜：未见积液及气胸。\n纵隔及肺门：未见肿大淋巴结。\n心脏及大血管：大小正常。\n骨骼及软组织：未见异常。",
    },
    fields: [
      {
        key: "nodules",
        label: { en: "Nodules", zh: "结节" },
        type: "select",
        options: [NONE, opt("solitary", "Solitary", "单发"), opt("multiple", "Multiple", "多发")],
      },
      { key: "largest_nodule_mm", label: { en: "Largest nodule (mm)", zh: "最大结节 (mm)" }, type: "text", unit: "mm" },
      {
        key: "lung_rads",
        label: { en: "Lung-RADS category", zh: "Lung-RADS 分类" },
        type: "select",
        options: ["0", "1", "2", "3", "4A", "4B", "4X"].map((c) => opt(c, c, c)),
      },
      { key: "effusion", label: { en: "Pleural effusion", zh: "胸腔积液" }, type: "select", options: SIDES },
    ],
  },
  {
    id: "ct-head",
    modality: ["CT"],
    bodyPart: ["HEAD", "BRAIN", "SKULL"],
    name: { en: "CT head", zh: "头颅 CT" },
    findings: {
      en: "Brain parenchyma: no abnormal density.\nVentricles and sulci: normal size, midline not shifted.\nNo intracranial haemorrhage.\nSkull: no fracture.",
      zh: "脑实质：未见异常密度影。\n脑室系统及脑沟：大小正常，中线结构居中。\n未见颅内出血。\n颅骨：未见骨折。",
    },
    fields: [
      {
        key: "haemorrhage",
        label: { en: "Haemorrhage", zh: "出血" },
        type: "select",
        options: [
          NONE,
          opt("epidural", "Epidural", "硬膜外"),
          opt("subdural", "Subdural", "硬膜下"),
          opt("subarachnoid", "Subarachnoid", "蛛网膜下腔"),
          opt("intraparenchymal", "Intraparenchymal", "脑实质内"),
        ],
      },
      { key: "midline_shift_mm", label: { en: "Midline shift (mm)", zh: "中线移位 (mm)" }, type: "text", unit: "mm" },
      { key: "infarct", label: { en: "Acute infarct", zh: "急性梗死" }, type: "select", options: YES_NO },
      { key: "fracture", label: { en: "Skull fracture", zh: "颅骨骨折" }, type: "select", options: YES_NO },
    ],
  },
  {
    id: "ct-abdomen",
    modality: ["CT"],
    bodyPart: ["ABDOMEN", "ABD", "ABDOMENPELVIS", "PELVIS"],
    name: { en: "CT abdomen", zh: "腹部 CT" },
    findings: {
      en: "Liver: normal size and density, no focal lesion.\nGallbladder and bile ducts: normal.\nPancreas, spleen, adrenals: unremarkable.\nKidneys: no calculi or hydronephrosis.\nBowel: no obstruction.\nNo free fluid or free air.",
      zh: "肝脏：大小及密度正常，未见局灶性病变。\n胆囊及胆管：未见异常。\n胰腺、脾脏、肾上腺：未见异常。\n双肾：未见结石及积水。\n肠管：未见梗阻。\n未见腹腔积液及游离气体。",
    },
    fields: [
      {
        key: "free_fluid",
        label: { en: "Free fluid", zh: "腹腔积液" },
        type: "select",
        options: [NONE, opt("small", "Small", "少量"), opt("moderate", "Moderate", "中量"), opt("large", "Large", "大量")],
      },
      { key: "free_air", label: { en: "Free air", zh: "游离气体" }, type: "select", options: YES_NO },
      { key: "obstruction", label: { en: "Bowel obstruction", zh: "肠梗阻" }, type: "select", options: YES_NO },
      { key: "focal_lesion", label: { en: "Focal lesion (organ, size)", zh: "局灶性病变（器官、大小）" }, type: "text" },
    ],
  },
  {
    id: "dx-chest",
    modality: ["DX", "CR"],
    bodyPart: ["CHEST", "LUNG", "THORAX"],
    name: { en: "Chest radiograph", zh: "胸部 X 线" },
    findings: {
      en: "Lungs: clear, no consolidation.\nHeart: normal size.\nCostophrenic angles: sharp.\nBones: unremarkable.",
      zh: "双肺纹理清晰，未见实变影。\n心影大小正常。\n双侧肋膈角锐利。\n骨骼：未见异常。",
    },
    fields: [
      {
        key: "consolidation",
        label: { en: "Consolidation", zh: "实变" },
        type: "select",
        options: SIDES,
      },
      { key: "effusion", label: { en: "Pleural effusion", zh: "胸腔积液" }, type: "select", options: SIDES },
      { key: "pneumothorax", label: { en: "Pneumothorax", zh: "气胸" }, type: "select", options: SIDES },
      {
        key: "heart_size",
        label: { en: "Heart size", zh: "心影大小" },
        type: "select",
        options: [opt("normal", "Normal", "正常"), opt("enlarged", "Enlarged", "增大")],
      },
    ],
  },
  {
    id: "mr-head",
    modality: ["MR"],
    bodyPart: ["HEAD", "BRAIN"],
    name: { en: "MR head", zh: "头颅 MR" },
    findings: {
      en: "Brain parenchyma: no abnormal signal.\nDWI: no restricted diffusion.\nVentricles: normal size, midline not shifted.\nNo abnormal enhancement.",
      zh: "脑实质：未见异常信号。\nDWI：未见弥散受限。\n脑室系统大小正常，中线结构居中。\n未见异常强化。",
    },
    fields: [
      { key: "restricted_diffusion", label: { en: "Restricted diffusion", zh: "弥散受限" }, type: "select", options: YES_NO },
      {
        key: "white_matter",
        label: { en: "White matter lesions (Fazekas)", zh: "白质病变 (Fazekas)" },
        type: "select",
        options: ["0", "1", "2", "3"].map((c) => opt(c, c, c)),
      },
      { key: "mass", label: { en: "Mass (location, size)", zh: "占位（部位、大小）" }, type: "text" },
    ],
  },
  {
    id: "mr-spine",
    modality: ["MR"],
    bodyPart: ["SPINE", "CSPINE", "TSPINE", "LSPINE", "LUMBAR", "CERVICAL", "THORACIC"],
    name: { en: "MR spine", zh: "脊柱 MR" },
    findings: {
      en: "Alignment: normal.\nVertebral bodies: normal height and signal.\nDiscs: no herniation.\nSpinal cord: normal signal.\nSpinal canal and foramina: not narrowed.",
      zh: "脊柱序列：正常。\n椎体：高度及信号正常。\n椎间盘：未见突出。\n脊髓：信号正常。\n椎管及椎间孔：未见狭窄。",
    },
    fields: [
      { key: "level", label: { en: "Most affected level", zh: "主要受累节段" }, type: "text" },
      {
        key: "disc",
        label: { en: "Disc", zh: "椎间盘" },
        type: "select",
        options: [NONE, opt("bulge", "Bulge", "膨出"), opt("protrusion", "Protrusion", "突出"), opt("extrusion", "Extrusion", "脱出")],
      },
      {
        key: "canal_stenosis",
        label: { en: "Canal stenosis", zh: "椎管狭窄" },
        type: "select",
        options: [NONE, opt("mild", "Mild", "轻度"), opt("moderate", "Moderate", "中度"), opt("severe", "Severe", "重度")],
      },
      { key: "cord_signal", label: { en: "Abnormal cord signal", zh: "脊髓异常信号" }, type: "select", options: YES_NO },
    ],
  },
];

export const GENERIC_TEMPLATE: ReportTemplate = {
  id: "generic",
  modality: [],
  bodyPart: [],
  name: { en: "General", zh: "通用" },
  findings: { en: "", zh: "" },
  fields: [
    {
      key: "comparison",
      label: { en: "Compared with prior", zh: "与既往比较" },
      type: "select",
      options: [
        opt("no_prior", "No prior", "无既往"),
        opt("stable", "Stable", "稳定"),
        opt("improved", "Improved", "好转"),
        opt("worse", "Worse", "进展"),
      ],
    },
  ],
};

export const ALL_TEMPLATES: ReportTemplate[] = [...TEMPLATES, GENERIC_TEMPLATE];

const squash = (s: string) => s.toUpperCase().replace(/[^A-Z]/g, "");

/** The template for a study: modality and body part, then modality alone, then the generic one. */
export function templateFor(modality: string, bodyPart: string): ReportTemplate {
  const mod = squash(modality);
  const part = squash(bodyPart);
  return (
    TEMPLATES.find((t) => t.modality.includes(mod) && t.bodyPart.includes(part)) ??
    TEMPLATES.find((t) => t.modality.includes(mod) && t.bodyPart.some((p) => part.includes(p))) ??
    GENERIC_TEMPLATE
  );
}

/** Reopening a draft: the template whose fields hold every saved structured key, else the study's own. */
export function templateForDraft(modality: string, bodyPart: string, structured: Record<string, string>): ReportTemplate {
  const own = templateFor(modality, bodyPart);
  const keys = Object.keys(structured);
  if (keys.length === 0 || keys.every((k) => own.fields.some((f) => f.key === k))) return own;
  return ALL_TEMPLATES.find((t) => keys.every((k) => t.fields.some((f) => f.key === k))) ?? own;
}

export function templateById(id: string): ReportTemplate {
  return ALL_TEMPLATES.find((t) => t.id === id) ?? GENERIC_TEMPLATE;
}

/** The structured values a report carries: this template's fields only, blank ones left out. */
export function structuredFor(template: ReportTemplate, values: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const field of template.fields) {
    const value = (values[field.key] ?? "").trim();
    if (value) out[field.key] = value;
  }
  return out;
}

export function textIn(text: Text, lang: string): string {
  return lang.startsWith("zh") ? text.zh : text.en;
}

/** A structured value as a person reads it (the option's label, or the free text). */
export function displayValue(key: string, value: string, lang: string): { label: string; value: string } {
  for (const t of ALL_TEMPLATES) {
    const field = t.fields.find((f) => f.key === key);
    if (!field) continue;
    const option = field.options?.find((o) => o.value === value);
    return { label: textIn(field.label, lang), value: option ? textIn(option.label, lang) : value };
  }
  return { label: key, value };
}
