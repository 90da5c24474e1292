"""Chinese environmental standards, implemented from their published tables."""
