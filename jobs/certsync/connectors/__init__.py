"""Connectors to the Mégalis platform (socle, S²LOW, Pastell) behind one protocol."""
