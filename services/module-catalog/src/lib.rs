//! The module catalog: releases of the AI operations runtime's modules, imported
//! with a trust review before any tenant may enable them. Platform management
//! owns trust — which sources, which signers, which releases — and tenant
//! management owns enablement.
//!
//! [`review`] runs the trust review's checks on a release; [`dsse`] reads and
//! verifies the DSSE envelopes releases are signed in.

pub mod dsse;
pub mod review;
