"""Follow-ups: what responsible institutions report on recommendations and activities."""
