"""OneMap."""
