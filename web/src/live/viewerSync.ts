// Synchronised viewing: read what the presenter's OHIF viewer shows and make another viewer show the same, by
// state (series, image, window/level, zoom/pan, annotations), never by video: each client renders the DICOM
// itself. The viewer runs in a same-origin iframe (/viewer/); app-config.js hands its OHIF services to the parent
// as `window.yilianViewer`, and OHIF's cornerstone extension puts cornerstone on `window.cornerstone(Tools)`.
// Nothing here is typed by OHIF (its packages are not dependencies of the web app): the small surface used is
// described by the interfaces below and checked at run time, so a changed OHIF fails loudly in tests/e2e.

/**
 * What a viewer shows: the data channel's `ViewerState` (src/yilian/live/protocol.py), field for field, so it goes
 * on the wire as it is. Window as centre/width; zoom relative to each viewport's fit and pan in image pixels at
 * that zoom, so viewports of different sizes agree; annotations in image (pixel) coordinates of their instance.
 */
export interface ViewerState {
  study_instance_uid: string;
  series_instance_uid: string | null;
  sop_instance_uid: string | null;
  slice_index: number;
  window_center: number | null;
  window_width: number | null;
  zoom: number;
  pan_x: number;
  pan_y: number;
  annotations: SyncedAnnotation[];
}

export type AnnotationKind = "length" | "arrow" | "angle" | "ellipse" | "rectangle" | "text";

/** A measurement or arrow: its kind, its instance, its points in that image's pixel coordinates. */
export interface SyncedAnnotation {
  annotation_id: string;
  kind: AnnotationKind;
  sop_instance_uid: string;
  points: [number, number][];
  label: string;
}

/** cornerstone's tools for each kind the protocol carries (others stay local to the viewer that drew them). */
export const TOOL_OF: Record<AnnotationKind, string> = {
  length: "Length",
  arrow: "ArrowAnnotate",
  angle: "Angle",
  ellipse: "EllipticalROI",
  rectangle: "RectangleROI",
  text: "Label",
};
const KIND_OF: Record<string, AnnotationKind> = Object.fromEntries(
  Object.entries(TOOL_OF).map(([kind, tool]) => [tool, kind as AnnotationKind]),
);

export type ApplyOutcome =
  | { status: "applied" }
  | { status: "not_ready" }
  | { status: "missing_series"; study_instance_uid: string; series_instance_uid: string | null };

// --- The OHIF / cornerstone surface this module relies on --------------------------------------------------------

interface DisplaySet {
  displaySetInstanceUID: string;
  StudyInstanceUID: string;
  SeriesInstanceUID: string;
}
interface GridViewport {
  displaySetInstanceUIDs?: string[];
}
interface OhifServices {
  viewportGridService: {
    getState(): { activeViewportId: string | null; viewports: Map<string, GridViewport> };
    setDisplaySetsForViewport(p: { viewportId: string; displaySetInstanceUIDs: string[] }): unknown;
  };
  displaySetService: {
    getDisplaySetByUID(uid: string): DisplaySet | undefined;
    getActiveDisplaySets(): DisplaySet[];
  };
  cornerstoneViewportService: { getCornerstoneViewport(viewportId: string): CsViewport | undefined | null };
}
interface CsViewport {
  id: string;
  getImageIds?(): string[];
  getCurrentImageIdIndex?(): number;
  getCurrentImageId?(): string | undefined;
  setImageIdIndex?(index: number): Promise<unknown>;
  getProperties(): { voiRange?: { lower: number; upper: number }; invert?: boolean };
  setProperties(p: { voiRange?: { lower: number; upper: number }; invert?: boolean }): void;
  getViewPresentation(): { zoom?: number; pan?: [number, number] };
  setViewPresentation(p: { zoom?: number; pan?: [number, number] }): void;
  getFrameOfReferenceUID(): string;
  getCamera(): { viewPlaneNormal?: number[]; viewUp?: number[] };
  render(): void;
}
type Point3 = [number, number, number];
interface Cornerstone {
  metaData: { get(type: string, imageId: string): { columnPixelSpacing?: number; rowPixelSpacing?: number } | undefined };
  utilities: {
    worldToImageCoords(imageId: string, world: Point3): [number, number] | undefined;
    imageToWorldCoords(imageId: string, image: [number, number]): Point3 | undefined;
  };
}
interface CsAnnotation {
  annotationUID?: string;
  isLocked?: boolean;
  metadata: {
    toolName: string;
    referencedImageId?: string;
    FrameOfReferenceUID?: string;
    viewPlaneNormal?: number[];
    viewUp?: number[];
  };
  data: { handles?: { points?: Point3[]; textBox?: unknown }; text?: string; label?: string };
}
interface CsTools {
  annotation: {
    state: {
      getAllAnnotations(): CsAnnotation[];
      getAnnotation(uid: string): CsAnnotation | undefined;
      addAnnotation(a: CsAnnotation, group: string | HTMLElement): string;
      removeAnnotation(uid: string): void;
    };
  };
  utilities: { triggerAnnotationRenderForViewportIds(ids: string[]): void };
}
interface ViewerWindow extends Window {
  yilianViewer?: { version: number; servicesManager: { services: OhifServices } };
  cornerstoneTools?: CsTools;
  cornerstone?: Cornerstone;
}

// --- Reading and applying ------------------------------------------------------------------------------------------

/** The SOP Instance UID in a WADO-RS/WADO-URI image id (…/instances/<uid>/frames/1, …objectUID=<uid>). */
export function sopOf(imageId: string | undefined | null): string | null {
  if (!imageId) return null;
  const m = /\/instances\/([0-9.]+)/.exec(imageId) ?? /[?&]objectUID=([0-9.]+)/.exec(imageId);
  return m ? m[1] : null;
}

/** Where to land in a stack: the image with that SOP UID, else the same index clamped to the stack. */
export function indexFor(imageIds: string[], sop: string | null, fallback: number): number {
  if (sop) {
    const found = imageIds.findIndex((id) => sopOf(id) === sop);
    if (found >= 0) return found;
  }
  return Math.max(0, Math.min(imageIds.length - 1, fallback));
}

const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

/** Pixel spacing (mm per pixel, column and row) of an image; 1 when the image does not say. */
function spacingOf(cs: Cornerstone, imageId: string): [number, number] {
  const plane = cs.metaData.get("imagePlaneModule", imageId);
  return [plane?.columnPixelSpacing || 1, plane?.rowPixelSpacing || 1];
}

function annotationsOn(tools: CsTools, cs: Cornerstone, imageIds: Set<string>): SyncedAnnotation[] {
  const out: SyncedAnnotation[] = [];
  for (const a of tools.annotation.state.getAllAnnotations()) {
    const imageId = a.metadata.referencedImageId;
    const kind = KIND_OF[a.metadata.toolName];
    const sop = sopOf(imageId);
    if (!a.annotationUID || !imageId || !kind || !sop || !imageIds.has(imageId)) continue;
    const points = (a.data.handles?.points ?? []).map((world) => cs.utilities.worldToImageCoords(imageId, world));
    if (points.some((p) => !p)) continue;
    out.push({
      annotation_id: a.annotationUID,
      kind,
      sop_instance_uid: sop,
      points: points.map((p) => [round(p![0]), round(p![1])]),
      label: (a.data.text ?? a.data.label ?? "").slice(0, 200),
    });
  }
  return out;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One OHIF viewer in a same-origin iframe: `read()` its state, `apply()` someone else's, `watch()` for changes.
 * A follower keeps only what it was last sent: annotations it drew from an earlier state are removed when the
 * presenter's are.
 */
export class ViewerBridge {
  private applied = new Set<string>(); // annotation UIDs this bridge added

  constructor(private readonly frame: HTMLIFrameElement) {}

  private win(): ViewerWindow | null {
    try {
      return (this.frame.contentWindow as ViewerWindow | null) ?? null;
    } catch {
      return null; // not same-origin (yet): about:blank while the iframe navigates
    }
  }

  private services(): OhifServices | null {
    return this.win()?.yilianViewer?.servicesManager.services ?? null;
  }

  /** The active viewport, its display set and its cornerstone viewport once it holds a stack with images. */
  private active(): { viewportId: string; displaySet: DisplaySet; viewport: CsViewport; imageIds: string[] } | null {
    try {
      return this.lookUp();
    } catch {
      return null; // OHIF is still mounting: its grid has no implementation until the viewer's layout renders
    }
  }

  private lookUp() {
    const s = this.services();
    if (!s) return null;
    const grid = s.viewportGridService.getState();
    const viewportId = grid.activeViewportId ?? [...grid.viewports.keys()][0];
    if (!viewportId) return null;
    const uid = grid.viewports.get(viewportId)?.displaySetInstanceUIDs?.[0];
    const displaySet = uid ? s.displaySetService.getDisplaySetByUID(uid) : undefined;
    const viewport = s.cornerstoneViewportService.getCornerstoneViewport(viewportId);
    const imageIds = viewport?.getImageIds?.() ?? [];
    if (!displaySet || !viewport || imageIds.length === 0) return null;
    return { viewportId, displaySet, viewport, imageIds };
  }

  /** True once OHIF is up and its active viewport shows an image stack. */
  ready(): boolean {
    return this.active() !== null;
  }

  read(): ViewerState | null {
    const a = this.active();
    const w = this.win();
    const tools = w?.cornerstoneTools;
    const cs = w?.cornerstone;
    if (!a || !tools || !cs) return null;
    const { viewport, displaySet, imageIds } = a;
    const index = viewport.getCurrentImageIdIndex?.() ?? 0;
    const voi = viewport.getProperties().voiRange;
    const presentation = viewport.getViewPresentation();
    const [colSpacing, rowSpacing] = spacingOf(cs, imageIds[index]);
    return {
      study_instance_uid: displaySet.StudyInstanceUID,
      series_instance_uid: displaySet.SeriesInstanceUID,
      sop_instance_uid: sopOf(imageIds[index]),
      slice_index: index,
      window_center: voi ? round((voi.lower + voi.upper) / 2) : null,
      window_width: voi && voi.upper > voi.lower ? round(voi.upper - voi.lower) : null,
      zoom: round(presentation.zoom ?? 1, 4),
      // cornerstone's pan is in millimetres divided by the zoom: in pixels, it means the same on every screen.
      pan_x: round((presentation.pan?.[0] ?? 0) / colSpacing),
      pan_y: round((presentation.pan?.[1] ?? 0) / rowSpacing),
      annotations: annotationsOn(tools, cs, new Set(imageIds)),
    };
  }

  /** Show the series the state names in the active viewport, waiting (up to `within` ms) for its stack. */
  private async showSeries(state: ViewerState, within: number) {
    const s = this.services();
    const current = this.active();
    if (!s || !current) return null;
    const wanted = state.series_instance_uid;
    const here = current.displaySet;
    if (wanted ? here.SeriesInstanceUID === wanted : here.StudyInstanceUID === state.study_instance_uid) return current;
    // No series named: the study's first display set.
    const target = s.displaySetService
      .getActiveDisplaySets()
      .find((d) => d.StudyInstanceUID === state.study_instance_uid && (!wanted || d.SeriesInstanceUID === wanted));
    if (!target) return "missing" as const;
    s.viewportGridService.setDisplaySetsForViewport({
      viewportId: current.viewportId,
      displaySetInstanceUIDs: [target.displaySetInstanceUID],
    });
    const until = Date.now() + within;
    while (Date.now() < until) {
      const now = this.active();
      if (now && now.displaySet.displaySetInstanceUID === target.displaySetInstanceUID) return now;
      await sleep(50);
    }
    return null;
  }

  async apply(state: ViewerState, within = 10_000): Promise<ApplyOutcome> {
    const shown = await this.showSeries(state, within);
    if (shown === "missing")
      return {
        status: "missing_series",
        study_instance_uid: state.study_instance_uid,
        series_instance_uid: state.series_instance_uid,
      };
    const w = this.win();
    const tools = w?.cornerstoneTools;
    const cs = w?.cornerstone;
    if (!shown || !tools || !cs) return { status: "not_ready" };
    const { viewport, viewportId, imageIds } = shown;
    const index = indexFor(imageIds, state.sop_instance_uid, state.slice_index);
    if (viewport.getCurrentImageIdIndex?.() !== index) await viewport.setImageIdIndex?.(index);
    // After the image: a new image may reset the window to its own default.
    if (state.window_center !== null && state.window_width !== null) {
      const half = state.window_width / 2;
      viewport.setProperties({ voiRange: { lower: state.window_center - half, upper: state.window_center + half } });
    }
    const [colSpacing, rowSpacing] = spacingOf(cs, imageIds[index]);
    viewport.setViewPresentation({ zoom: state.zoom, pan: [state.pan_x * colSpacing, state.pan_y * rowSpacing] });
    this.applyAnnotations(tools, cs, viewport, imageIds, state.annotations);
    viewport.render();
    tools.utilities.triggerAnnotationRenderForViewportIds([viewportId]);
    return { status: "applied" };
  }

  private applyAnnotations(
    tools: CsTools,
    cs: Cornerstone,
    viewport: CsViewport,
    imageIds: string[],
    wanted: SyncedAnnotation[],
  ) {
    const { state } = tools.annotation;
    const keep = new Set(wanted.map((a) => a.annotation_id));
    for (const uid of this.applied) {
      if (!keep.has(uid) && state.getAnnotation(uid)) state.removeAnnotation(uid);
    }
    this.applied = keep;
    const camera = viewport.getCamera();
    for (const a of wanted) {
      const imageId = imageIds.find((id) => sopOf(id) === a.sop_instance_uid);
      if (!imageId) continue; // on another series than the one shown
      const world = a.points.map((p) => cs.utilities.imageToWorldCoords(imageId, p));
      if (world.some((p) => !p)) continue;
      const points = world as Point3[];
      const existing = state.getAnnotation(a.annotation_id);
      if (existing) {
        existing.data.handles = { ...(existing.data.handles ?? {}), points };
        existing.data.text = a.label;
        continue;
      }
      state.addAnnotation(
        {
          annotationUID: a.annotation_id,
          isLocked: true, // a follower sees the presenter's marks; it does not edit them
          metadata: {
            toolName: TOOL_OF[a.kind],
            referencedImageId: imageId,
            FrameOfReferenceUID: viewport.getFrameOfReferenceUID(),
            viewPlaneNormal: camera.viewPlaneNormal,
            viewUp: camera.viewUp,
          },
          data: { handles: { points, textBox: { hasMoved: false } }, text: a.label },
        },
        viewport.getFrameOfReferenceUID(),
      );
    }
  }

  /**
   * Call `onChange` with the state whenever it changes (sampled every `everyMs`; a read is a few property lookups,
   * so polling is cheaper and surer than following each of cornerstone's per-element events). Returns a stop.
   */
  watch(onChange: (state: ViewerState) => void, everyMs = 100): () => void {
    let last = "";
    const timer = setInterval(() => {
      const state = this.read();
      if (!state) return;
      const key = JSON.stringify(state);
      if (key !== last) {
        last = key;
        onChange(state);
      }
    }, everyMs);
    return () => clearInterval(timer);
  }
}

/**
 * A follower's side: apply states in sequence order, newest wins. A state older than the last applied is dropped
 * (the data channel may reorder after a reconnect); while one is being applied, only the newest waiting one is kept.
 */
export class ViewerFollower {
  private lastSeq = -1;
  private newestSeq = -1; // the newest offered: being applied, waiting, or applied
  private pending: { seq: number; state: ViewerState } | null = null;
  private running = false;
  private stopped = false;

  constructor(
    private readonly bridge: ViewerBridge,
    private readonly onOutcome: (outcome: ApplyOutcome, seq: number) => void = () => {},
  ) {}

  get appliedSeq(): number {
    return this.lastSeq;
  }

  /** Forget the order (a new presenter or a fresh room starts its sequence again). */
  reset(): void {
    this.lastSeq = -1;
    this.newestSeq = -1;
  }

  /** Stop retrying (the room is closing). */
  stop(): void {
    this.stopped = true;
    this.pending = null;
  }

  offer(seq: number, state: ViewerState): void {
    if (this.stopped || seq <= this.newestSeq) return;
    this.newestSeq = seq;
    this.pending = { seq, state };
    if (!this.running) void this.drain();
  }

  private async drain() {
    this.running = true;
    try {
      while (this.pending) {
        const { seq, state } = this.pending;
        this.pending = null;
        let outcome = await this.bridge.apply(state);
        // The viewer may still be starting: try again shortly unless a newer state arrived meanwhile.
        while (outcome.status === "not_ready" && !this.pending && !this.stopped) {
          await sleep(250);
          outcome = await this.bridge.apply(state);
        }
        if (outcome.status === "applied") this.lastSeq = Math.max(this.lastSeq, seq);
        this.onOutcome(outcome, seq);
      }
    } finally {
      this.running = false;
    }
  }
}
