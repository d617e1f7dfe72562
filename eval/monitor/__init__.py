"""The deployment monitor: tripwires and drift summaries over production transcripts."""
