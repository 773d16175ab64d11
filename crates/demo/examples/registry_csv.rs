//! Writes registry CSV files of a given size for the import and query benchmarks:
//! `regions.csv` (city → district → streets → communities → buildings → units),
//! `dwellings.csv` and `residents.csv`.
//!
//! cargo run --release -p linli-demo --example registry_csv -- OUT_DIR DWELLINGS RESIDENTS
use std::io::Write;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(out), Some(dwellings), Some(residents)) =
        (args.get(1), args.get(2).and_then(|n| n.parse::<u64>().ok()), args.get(3).and_then(|n| n.parse::<u64>().ok()))
    else {
        eprintln!("usage: registry_csv OUT_DIR DWELLINGS RESIDENTS");
        std::process::exit(2);
    };
    std::fs::create_dir_all(out)?;
    let file = |name: &str| std::fs::File::create(std::path::Path::new(out).join(name)).map(|f| std::io::BufWriter::with_capacity(1 << 20, f));
    let (streets, communities_per_street, units_per_building, dwellings_per_unit) = (6u64, 10u64, 3u64, 24u64);
    let per_building = units_per_building * dwellings_per_unit;
    let buildings = dwellings.div_ceil(per_building);
    let buildings_per_community = buildings.div_ceil(streets * communities_per_street);

    let mut regions = file("regions.csv")?;
    writeln!(regions, "code,level,name,parent_code,lon,lat")?;
    writeln!(regions, "bj,city,北京市,,116.40,39.90")?;
    writeln!(regions, "cp,district,昌平区,bj,116.23,40.22")?;
    let mut building_codes = Vec::with_capacity(buildings as usize);
    for s in 0..streets {
        let (slon, slat) = (116.29 + 0.025 * s as f64, 40.06 + 0.005 * (s % 3) as f64);
        writeln!(regions, "s{s},street,街道{s},cp,{slon:.5},{slat:.5}")?;
        for c in 0..communities_per_street {
            let (clon, clat) = (slon + 0.002 * c as f64, slat + 0.001 * c as f64);
            writeln!(regions, "s{s}c{c},community,社区{s}-{c},s{s},{clon:.5},{clat:.5}")?;
            for b in 0..buildings_per_community {
                if building_codes.len() as u64 == buildings {
                    break;
                }
                let code = format!("s{s}c{c}b{b}");
                // Spread buildings over about 1 km around the community centre.
                let (blon, blat) = (clon + 0.01 * ((b * 37 % 100) as f64 / 100.0 - 0.5), clat + 0.008 * ((b * 61 % 100) as f64 / 100.0 - 0.5));
                writeln!(regions, "{code},building,{b}号楼,s{s}c{c},{blon:.6},{blat:.6}")?;
                for u in 0..units_per_building {
                    writeln!(regions, "{code}u{u},unit,{u}单元,{code},,")?;
                }
                building_codes.push(code);
            }
        }
    }
    regions.flush()?;

    let mut dwelling_file = file("dwellings.csv")?;
    writeln!(dwelling_file, "code,name,parent_code,area_m2")?;
    let mut dwelling_codes = Vec::with_capacity(dwellings as usize);
    'outer: for building in &building_codes {
        for u in 0..units_per_building {
            for d in 0..dwellings_per_unit {
                if dwelling_codes.len() as u64 == dwellings {
                    break 'outer;
                }
                let code = format!("{building}u{u}d{d}");
                writeln!(dwelling_file, "{code},{}{:02}室,{building}u{u},{}", d / 2 + 1, d % 2 + 1, 50 + d * 3)?;
                dwelling_codes.push(code);
            }
        }
    }
    dwelling_file.flush()?;

    let mut people = file("residents.csv")?;
    writeln!(people, "name,id_number,phone,residence_kind,care_tags,dwelling_code,relation")?;
    let kinds = ["registered", "permanent", "floating"];
    for i in 0..residents {
        let dwelling = &dwelling_codes[(i % dwelling_codes.len() as u64) as usize];
        // Unique ID numbers: a running number in the sequence digits across birth dates.
        let day = i % 28 + 1;
        let month = (i / 28) % 12 + 1;
        let year = 1940 + (i / 336) % 80;
        let seq = (i / 26_880) % 1000;
        let tag = if i % 37 == 0 { "elderly_alone" } else { "" };
        writeln!(
            people,
            "居民{i},110114{year:04}{month:02}{day:02}{seq:03}X,13{:09},{},{tag},{dwelling},{}",
            i % 1_000_000_000,
            kinds[(i % 3) as usize],
            if i % 3 == 0 { "owner" } else { "member" }
        )?;
    }
    people.flush()?;
    println!("wrote {} buildings, {} dwellings, {} residents to {out}", building_codes.len(), dwelling_codes.len(), residents);
    Ok(())
}
