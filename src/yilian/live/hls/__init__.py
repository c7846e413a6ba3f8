"""A lecture's one H.264 rendition packaged as HLS by the live process (docs/live.md, "Lectures: HLS")."""
