fn main() {
    std::process::exit(bitsim::cli::main(std::env::args_os().collect()));
}
