mod tls;

fn main() {}
