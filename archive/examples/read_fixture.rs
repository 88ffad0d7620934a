//! Reads archives and prints what the reader saw: entries, errors, cut-off.
//! `cargo run -p cctap-archive --example read_fixture -- FILE...`
use cctap_archive::ArchiveReader;
use std::path::Path;

fn main() {
    for arg in std::env::args().skip(1) {
        match ArchiveReader::open(Path::new(&arg)) {
            Err(e) => println!("{arg}: {e}"),
            Ok(mut r) => {
                let (mut ok, mut bad) = (0, 0);
                for e in r.by_ref() {
                    match e {
                        Ok(_) => ok += 1,
                        Err(e) => {
                            bad += 1;
                            println!("  {e}");
                        }
                    }
                }
                println!(
                    "{arg}: {ok} entries, {bad} bad, creator {:?}, cut {:?} {:?}",
                    r.head().creator.name,
                    r.cut_off(),
                    r.cut_reason()
                );
            }
        }
    }
}
