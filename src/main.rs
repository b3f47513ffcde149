fn main() -> std::process::ExitCode {
    regshift::cli::main()
}
