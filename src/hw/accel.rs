//! Accelerator cycle models: the BitMoD accelerator (R×C array of bit-serial
//! PEs, buffers, DRAM bandwidth, compute/DRAM overlap), Stripes and Loom.
