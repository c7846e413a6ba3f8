// Synchronised viewing: read what the presenter's OHIF viewer shows and make another viewer show the same, by
// state (series, image, window/level, zoom/pan/rotation, annotations), never by video: each client renders the DICOM
// itself. The viewer runs in a same-origin iframe (/viewer/); app-config.js hands its OHIF services to the parent
// as `window.yilianViewer`, and OHIF's cornerstone extension puts cornerstone on `window.cornerstone(Tools)`.
// Nothing here is typed by OHIF (its packages are not dependencies of the web app): the small surface used is
// described by the interfaces below and checked at run time, so a changed OHIF fails loudly in tests/e2e.

/** What a viewer shows, in terms every client can resolve against its own copy of the study. */
export interface ViewerState {
  study_uid: string;
  series_uid: string;
  /** The SOP Instance UID of the image on screen; `image_index` is the fallback when it is not in the stack. */
  sop_uid: string | null;
  image_index: number;
  voi: { lower: number; upper: number } | null;
  invert: boolean;
  /** cornerstone's view presentation: zoom relative to fit, pan normalised by zoom, rotation, flips. */
  presentation: ViewPresentation | null;
  annotations: SyncedAnnotation[];
}

export interface ViewPresentation {
  zoom?: number;
  pan?: [number, number];
  rotation?: number;
  flipHorizontal?: boolean;
  flipVertical?: boolean;
}

/** A measurement or arrow: its tool, the image it is on, and its points in patient (world) coordinates. */
export interface SyncedAnnotation {
  uid: string;
  tool: string;
  sop_uid: string | null;
  frame_of_reference_uid: string | null;
  view_plane_normal: number[] | null;
  view_up: number[] | null;
  points: number[][];
  text: string | null;
}

export type ApplyOutcome =
  | { status: "applied" }
  | { status: "not_ready" }
  | { status: "missing_series"; study_uid: string; series_uid: string };

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
  getViewPresentation(): ViewPresentation;
  setViewPresentation(p: ViewPresentation): void;
  render(): void;
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
  data: { handles?: { points?: number[][]; textBox?: unknown }; text?: string; label?: string };
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

const round = (x: number, digits = 4): number => Number(x.toFixed(digits));

function presentationOf(viewport: CsViewport): ViewPresentation {
  const p = viewport.getViewPresentation();
  return {
    zoom: p.zoom === undefined ? undefined : round(p.zoom),
    pan: p.pan ? [round(p.pan[0]), round(p.pan[1])] : undefined,
    rotation: p.rotation === undefined ? undefined : round(p.rotation, 2),
    flipHorizontal: p.flipHorizontal,
    flipVertical: p.flipVertical,
  };
}

function annotationsOn(tools: CsTools, imageIds: Set<string>): SyncedAnnotation[] {
  return tools.annotation.state
    .getAllAnnotations()
    .filter((a) => a.annotationUID && a.metadata.referencedImageId && imageIds.has(a.metadata.referencedImageId))
    .map((a) => ({
      uid: a.annotationUID as string,
      tool: a.metadata.toolName,
      sop_uid: sopOf(a.metadata.referencedImageId),
      frame_of_reference_uid: a.metadata.FrameOfReferenceUID ?? null,
      view_plane_normal: a.metadata.viewPlaneNormal ? [...a.metadata.viewPlaneNormal] : null,
      view_up: a.metadata.viewUp ? [...a.metadata.viewUp] : null,
      points: (a.data.handles?.points ?? []).map((pt) => pt.map((c) => round(c, 3))),
      text: a.data.text ?? a.data.label ?? null,
    }));
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
    const tools = this.win()?.cornerstoneTools;
    if (!a || !tools) return null;
    const { viewport, displaySet, imageIds } = a;
    const props = viewport.getProperties();
    const index = viewport.getCurrentImageIdIndex?.() ?? 0;
    return {
      study_uid: displaySet.StudyInstanceUID,
      series_uid: displaySet.SeriesInstanceUID,
      sop_uid: sopOf(imageIds[index]),
      image_index: index,
      voi: props.voiRange ? { lower: round(props.voiRange.lower, 2), upper: round(props.voiRange.upper, 2) } : null,
      invert: Boolean(props.invert),
      presentation: presentationOf(viewport),
      annotations: annotationsOn(tools, new Set(imageIds)),
    };
  }

  /** Show the series the state names in the active viewport, waiting (up to `within` ms) for its stack. */
  private async showSeries(state: ViewerState, within: number) {
    const s = this.services();
    const current = this.active();
    if (!s || !current) return null;
    if (current.displaySet.SeriesInstanceUID === state.series_uid) return current;
    const target = s.displaySetService
      .getActiveDisplaySets()
      .find((d) => d.SeriesInstanceUID === state.series_uid && d.StudyInstanceUID === state.study_uid);
    if (!target) return "missing" as const;
    s.viewportGridService.setDisplaySetsForViewport({
      viewportId: current.viewportId,
      displaySetInstanceUIDs: [target.displaySetInstanceUID],
    });
    const until = Date.now() + within;
    while (Date.now() < until) {
      const now = this.active();
      if (now && now.displaySet.SeriesInstanceUID === state.series_uid) return now;
      await sleep(50);
    }
    return null;
  }

  async apply(state: ViewerState, within = 10_000): Promise<ApplyOutcome> {
    const shown = await this.showSeries(state, within);
    if (shown === "missing") return { status: "missing_series", study_uid: state.study_uid, series_uid: state.series_uid };
    const tools = this.win()?.cornerstoneTools;
    if (!shown || !tools) return { status: "not_ready" };
    const { viewport, viewportId, imageIds } = shown;
    const index = indexFor(imageIds, state.sop_uid, state.image_index);
    if (viewport.getCurrentImageIdIndex?.() !== index) await viewport.setImageIdIndex?.(index);
    // After the image: a new image may reset the window to its own default.
    viewport.setProperties({ ...(state.voi ? { voiRange: state.voi } : {}), invert: state.invert });
    if (state.presentation) viewport.setViewPresentation(state.presentation);
    this.applyAnnotations(tools, viewport, imageIds, state.annotations);
    viewport.render();
    tools.utilities.triggerAnnotationRenderForViewportIds([viewportId]);
    return { status: "applied" };
  }

  private applyAnnotations(tools: CsTools, viewport: CsViewport, imageIds: string[], wanted: SyncedAnnotation[]) {
    const { state } = tools.annotation;
    const keep = new Set(wanted.map((a) => a.uid));
    for (const uid of this.applied) {
      if (!keep.has(uid) && state.getAnnotation(uid)) state.removeAnnotation(uid);
    }
    this.applied = keep;
    for (const a of wanted) {
      const imageId = imageIds[indexFor(imageIds, a.sop_uid, -1)];
      if (!imageId || sopOf(imageId) !== a.sop_uid) continue; // not on this series
      const existing = state.getAnnotation(a.uid);
      if (existing) {
        existing.data.handles = { ...(existing.data.handles ?? {}), points: a.points.map((p) => [...p]) };
        if (a.text !== null) existing.data.text = a.text;
        continue;
      }
      state.addAnnotation(
        {
          annotationUID: a.uid,
          isLocked: true, // a follower sees the presenter's marks; it does not edit them
          metadata: {
            toolName: a.tool,
            referencedImageId: imageId,
            FrameOfReferenceUID: a.frame_of_reference_uid ?? undefined,
            viewPlaneNormal: a.view_plane_normal ?? undefined,
            viewUp: a.view_up ?? undefined,
          },
          data: { handles: { points: a.points.map((p) => [...p]), textBox: { hasMoved: false } }, text: a.text ?? "" },
        },
        a.frame_of_reference_uid ?? viewport.id,
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
