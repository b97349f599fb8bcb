"""Reading the certificate folder: list files, sniff their format, extract certificates."""
