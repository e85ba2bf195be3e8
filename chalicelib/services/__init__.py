"""Use cases: load through the store, apply rules, save, emit. One function per action."""
