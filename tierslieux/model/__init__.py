"""Layer 0: the model every stage shares (records, RDF terms, cleaners)."""
