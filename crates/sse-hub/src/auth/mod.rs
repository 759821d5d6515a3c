//! Publishers' and subscribers' authorization tokens: where a request carries
//! one, how it is verified, and what it grants.
