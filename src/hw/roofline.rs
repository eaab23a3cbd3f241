//! Roofline: arithmetic intensity against compute and bandwidth ceilings.
