"""krat-tracker: the system of record for Albania's Regional Anti-Trafficking Committees."""
