//! The application side of tessera: what the `tessera` command line and the main example use
//! and the library need not carry: PNG maps of 2-d fields ([`plot`], with a compiled-in font)
//! and files of the synthetic SST data set laid out as xarray writes them ([`synthetic`]).

pub mod plot;
pub mod synthetic;
