//! Normalisers: turn user-entered values into the keys records are matched on.
