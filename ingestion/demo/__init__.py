"""The deterministic demo world behind `ingestion.demo_data`, split by concern."""
