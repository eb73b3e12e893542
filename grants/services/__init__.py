"""Domain operations. No HTTP here: services decide, check permissions and store."""
