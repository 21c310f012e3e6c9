fn main() -> std::process::ExitCode {
    supersetd::lifecycle::main()
}
