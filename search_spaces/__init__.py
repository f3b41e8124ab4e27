"""Named experiment spaces (Table 1, Table 2, extensions), each with its reference numbers."""
