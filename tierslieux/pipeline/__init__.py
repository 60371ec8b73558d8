"""The stages: harvest (live API and XML dumps) -> store -> parse -> map, and the survey."""
