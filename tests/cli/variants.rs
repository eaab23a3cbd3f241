//! `bitsim variants list`: the README's variant table is the `--markdown`
//! output, and both list every registered variant.

use crate::cli_support;
use cli_support::ok;

#[test]
fn readme_variant_table_is_the_markdown_listing() {
    let readme = include_str!("../../README.md");
    let start = "<!-- variants-table:start -->\n";
    let end = "<!-- variants-table:end -->";
    let from = readme
        .find(start)
        .expect("README has the table's start marker")
        + start.len();
    let to = readme.find(end).expect("README has the table's end marker");
    assert_eq!(
        &readme[from..to],
        ok(&["variants", "list", "--markdown"]),
        "README's variant table is stale: paste `bitsim variants list --markdown` between the markers"
    );
}

#[test]
fn markdown_listing_has_one_row_per_variant() {
    let md = ok(&["variants", "list", "--markdown"]);
    let names: Vec<&str> = md
        .lines()
        .skip(2)
        .map(|l| l.split('`').nth(1).expect("a `name` cell"))
        .collect();
    let attention = bitsim::attention::registry();
    let all: Vec<&str> = bitsim::variants::registry()
        .iter()
        .map(|v| v.name())
        .chain(attention.iter().map(|v| v.name()))
        .collect();
    assert_eq!(names, all);
    // Every row has the header's seven cells.
    for l in md.lines().filter(|l| !l.starts_with("|---")) {
        assert_eq!(l.split(" | ").count(), 7, "{l}");
    }
}
