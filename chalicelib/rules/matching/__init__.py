"""Matching and catalogue over accepted registrations, pure (no I/O):

- `card`: the public catalogue card of a registration;
- `features`: one registration's facts as codes and bitsets;
- `index`: the in-memory column index (numpy) built once per snapshot;
- `scoring`: weighted match scores, reasons and the best matches, paged by position;
- `catalogue`: catalogue filters, text search and pages by position;
- `query`: the filters and positions callers pass in and get back (no numpy).

Who may be matched with whom is rules.pairing's (shared with contact requests). Cursors are the
services' (chalicelib.cursors): the rules take and give positions. Nothing is imported here, so a
module that needs only `query` or `card` does not pay for numpy.
"""
