//! Config file, profiles, paths and credentials.
