"""DICOMweb (PS3.18): STOW-RS and QIDO-RS in store_query, WADO-RS in retrieve."""
