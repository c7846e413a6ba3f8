"""Documents for people made from our records (the signed report as PDF); no database, no web framework."""
