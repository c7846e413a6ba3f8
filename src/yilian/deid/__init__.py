"""De-identification of a case's text and the leak scan over its images and text (PS3.15 Annex E and beyond).

Pure: no database, no network, no files. `text.redact_text` removes identifiers from free text and says what it
changed; `leak_scan.leak_scan` checks de-identified instances and text against the source's identifiers and
generic patterns; `pseudonym` derives the per-patient pseudonym, the per-case date shift and UID salt. The
archive's copy of a study through the Basic Profile is `imaging.deid_copy.deidentify_study`.
"""
