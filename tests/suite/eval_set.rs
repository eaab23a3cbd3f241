//! The sentence evaluation set: the committed files' counts and spread (read
//! both through the loader and directly as text), and one error per kind of
//! malformed file, each naming the file and the line.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use bitsim::workload::eval_set::{
    EvalSet, Label, Source, DIR, DOCS_FILE, PAIRS_FILE, QUERIES_FILE,
};

const TOPICS: [&str; 9] = [
    "science", "cooking", "sport", "travel", "software", "finance", "health", "history", "everyday",
];

fn committed() -> EvalSet {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(DIR);
    EvalSet::load(&dir).unwrap_or_else(|e| panic!("{e}"))
}

/// Data lines (header and blank lines aside) of a committed file, read
/// without the loader.
fn raw_rows(file: &str) -> Vec<Vec<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DIR).join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    text.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\t').map(String::from).collect())
        .collect()
}

#[test]
fn committed_set_counts() {
    let set = committed();
    assert_eq!(set.pairs.len(), 162);
    assert_eq!(set.queries.len(), 63);
    assert_eq!(set.docs.len(), 126);
    assert_eq!(set.sentences().len(), 513);
    // The floor, independent of the exact numbers above.
    assert!(set.pairs.len() >= 150 && set.docs.len() >= 100 && set.sentences().len() >= 300);
    // The same counts straight from the text.
    assert_eq!(raw_rows(PAIRS_FILE).len(), set.pairs.len());
    assert_eq!(raw_rows(QUERIES_FILE).len(), set.queries.len());
    assert_eq!(raw_rows(DOCS_FILE).len(), set.docs.len());
    // The built-in copy is the committed files.
    assert_eq!(EvalSet::builtin().unwrap_or_else(|e| panic!("{e}")), set);
}

#[test]
fn labels_and_topics_are_spread_evenly() {
    let set = committed();
    let mut by: BTreeMap<(&str, Label), usize> = BTreeMap::new();
    for p in &set.pairs {
        *by.entry((p.topic.as_str(), p.label)).or_default() += 1;
    }
    for t in TOPICS {
        for l in Label::ALL {
            assert_eq!(by.get(&(t, l)), Some(&6), "{t} {}", l.name());
        }
    }
    assert_eq!(by.len(), TOPICS.len() * 3, "topics outside the list");
    for t in TOPICS {
        assert_eq!(
            set.queries.iter().filter(|q| q.topic == t).count(),
            7,
            "{t}"
        );
        assert_eq!(set.docs.iter().filter(|d| d.topic == t).count(), 14, "{t}");
    }
}

#[test]
fn scores_agree_with_labels() {
    // The README's bands: paraphrase 4–5, related 1–3.5, unrelated ≤ 0.5.
    for p in committed().pairs {
        let (lo, hi) = match p.label {
            Label::Paraphrase => (4.0, 5.0),
            Label::Related => (1.0, 3.5),
            Label::Unrelated => (0.0, 0.5),
        };
        assert!((lo..=hi).contains(&p.score), "{} {}", p.id, p.score);
    }
}

#[test]
fn every_query_has_its_own_relevant_document_on_its_topic() {
    let set = committed();
    let mut used = HashSet::new();
    for q in &set.queries {
        let d = &set.docs[q.doc];
        assert_eq!(d.id, q.doc_id);
        assert_eq!(d.topic, q.topic, "{}", q.id);
        assert!(used.insert(q.doc), "{}: document {} twice", q.id, d.id);
    }
    assert_eq!(
        set.relevant(),
        set.queries.iter().map(|q| q.doc).collect::<Vec<_>>()
    );
    // Cross-check one row from the text: q01's document id is column 4.
    let q01 = &raw_rows(QUERIES_FILE)[0];
    assert_eq!(
        (q01[0].as_str(), q01[3].as_str()),
        ("q01", set.queries[0].doc_id.as_str())
    );
}

#[test]
fn committed_text_is_plain_single_sentences() {
    let set = committed();
    for s in set.sentences() {
        assert!(s.is_ascii(), "{s}");
        assert_eq!(s, s.trim(), "{s}");
        assert!(s.ends_with('.') || s.ends_with('?'), "{s}");
        // One sentence: no sentence end before the last character.
        let inner = &s[..s.len() - 1];
        assert!(
            !inner.contains(". ") && !inner.contains("? ") && !inner.contains("! "),
            "{s}"
        );
    }
    // Every field of every row, from the text: no empty field, no stray tab
    // (a tab inside a field would show as an extra column).
    for (file, cols) in [(PAIRS_FILE, 6), (QUERIES_FILE, 4), (DOCS_FILE, 3)] {
        for (i, r) in raw_rows(file).iter().enumerate() {
            assert_eq!(r.len(), cols, "{file} row {}", i + 1);
            assert!(
                r.iter().all(|f| !f.trim().is_empty()),
                "{file} row {}",
                i + 1
            );
        }
    }
}

// ---- malformed files --------------------------------------------------------

const PAIRS: &str = "id\ttopic\tlabel\tscore\tsentence_a\tsentence_b\n\
p1\tsport\tparaphrase\t4.5\tShe won.\tShe was the winner.\n\
p2\tsport\tunrelated\t0\tShe won.\tThe soup is cold.\n";
const QUERIES: &str = "query_id\ttopic\tquery\tdoc_id\nq1\tsport\tWho won?\td2\n";
const DOCS: &str =
    "doc_id\ttopic\ttext\nd1\tsport\tThe race was long.\nd2\tsport\tShe won the race.\n";

fn parse(pairs: &str, queries: &str, docs: &str) -> Result<EvalSet, String> {
    EvalSet::parse(
        Source {
            name: "pairs.tsv",
            text: pairs,
        },
        Source {
            name: "queries.tsv",
            text: queries,
        },
        Source {
            name: "docs.tsv",
            text: docs,
        },
    )
    .map_err(|e| e.to_string())
}

fn err(pairs: &str, queries: &str, docs: &str) -> String {
    let e = parse(pairs, queries, docs).expect_err("malformed input accepted");
    assert!(!e.contains('\n'), "not one line: {e}");
    e
}

#[test]
fn small_valid_set_parses() {
    let s = parse(PAIRS, QUERIES, DOCS).unwrap();
    assert_eq!(s.pairs.len(), 2);
    assert_eq!(
        (s.pairs[0].label, s.pairs[0].score),
        (Label::Paraphrase, 4.5)
    );
    assert_eq!(s.pairs[1].b, "The soup is cold.");
    assert_eq!((s.queries[0].doc, s.queries[0].doc_id.as_str()), (1, "d2"));
    // "She won." appears twice but counts once.
    assert_eq!(
        s.sentences(),
        [
            "She won.",
            "She was the winner.",
            "The soup is cold.",
            "Who won?",
            "The race was long.",
            "She won the race."
        ]
    );
}

#[test]
fn columns_found_by_name_crlf_and_blank_lines_accepted() {
    let docs = "text\tdoc_id\ttopic\r\nThe race was long.\td1\tsport\r\n\r\nShe won the race.\td2\tsport\r\n";
    let s = parse(PAIRS, QUERIES, docs).unwrap();
    assert_eq!(
        (s.docs[1].id.as_str(), s.docs[1].text.as_str()),
        ("d2", "She won the race.")
    );
}

#[test]
fn missing_column_in_header() {
    let pairs = PAIRS.replacen("\tscore", "", 1);
    assert_eq!(
        err(&pairs, QUERIES, DOCS),
        "pairs.tsv line 1: missing column `score` in the header"
    );
}

#[test]
fn missing_column_in_a_row() {
    let docs = "doc_id\ttopic\ttext\nd1\tsport\tThe race was long.\nd2\tsport\n";
    assert_eq!(
        err(PAIRS, QUERIES, docs),
        "docs.tsv line 3: missing column `text`: 2 fields, the header has 3"
    );
}

#[test]
fn extra_field_in_a_row() {
    let docs =
        "doc_id\ttopic\ttext\nd1\tsport\tThe race\twas long.\nd2\tsport\tShe won the race.\n";
    assert_eq!(
        err(PAIRS, QUERIES, docs),
        "docs.tsv line 2: 4 fields, the header has 3 (a tab inside a field?)"
    );
}

#[test]
fn unknown_and_repeated_columns() {
    let q = QUERIES.replacen("topic", "subject", 1);
    assert!(err(PAIRS, &q, DOCS)
        .starts_with("queries.tsv line 1: unknown column `subject` in the header"));
    let d = "doc_id\ttopic\ttext\ttopic\nd1\ts\tx\ts\n";
    assert_eq!(
        err(PAIRS, QUERIES, d),
        "docs.tsv line 1: column `topic` appears twice in the header"
    );
}

#[test]
fn unknown_label() {
    let pairs = PAIRS.replacen("unrelated", "similar", 1);
    assert_eq!(
        err(&pairs, QUERIES, DOCS),
        "pairs.tsv line 3: label: unknown label `similar` (expected paraphrase, related or unrelated)"
    );
}

#[test]
fn bad_scores() {
    for bad in ["5.5", "-1", "high", "NaN"] {
        let pairs = PAIRS.replacen("4.5", bad, 1);
        assert_eq!(
            err(&pairs, QUERIES, DOCS),
            format!("pairs.tsv line 2: score: `{bad}` is not a number from 0 to 5")
        );
    }
}

#[test]
fn duplicate_ids() {
    let pairs = PAIRS.replacen("p2", "p1", 1);
    assert_eq!(
        err(&pairs, QUERIES, DOCS),
        "pairs.tsv line 3: id: duplicate id `p1` (first on line 2)"
    );
    let docs = DOCS.replacen("d2", "d1", 1);
    assert_eq!(
        err(PAIRS, QUERIES, &docs),
        "docs.tsv line 3: doc_id: duplicate id `d1` (first on line 2)"
    );
    let queries = format!("{QUERIES}q1\tsport\tWho lost?\td1\n");
    assert_eq!(
        err(PAIRS, &queries, DOCS),
        "queries.tsv line 3: query_id: duplicate id `q1` (first on line 2)"
    );
}

#[test]
fn query_naming_a_missing_document() {
    let queries = QUERIES.replacen("d2", "d9", 1);
    assert_eq!(
        err(PAIRS, &queries, DOCS),
        "queries.tsv line 2: doc_id: no document `d9` in docs.tsv"
    );
}

#[test]
fn empty_field_empty_file_and_header_only() {
    let pairs = PAIRS.replacen("\tsport\t", "\t \t", 1);
    assert_eq!(
        err(&pairs, QUERIES, DOCS),
        "pairs.tsv line 2: topic: empty field"
    );
    assert!(err(PAIRS, QUERIES, "").starts_with("docs.tsv: empty file"));
    assert_eq!(
        err(PAIRS, "query_id\ttopic\tquery\tdoc_id\n", DOCS),
        "queries.tsv: no rows after the header"
    );
}

#[test]
fn load_names_a_missing_file_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(PAIRS_FILE), PAIRS).unwrap();
    std::fs::write(dir.path().join(DOCS_FILE), DOCS).unwrap();
    let e = EvalSet::load(dir.path())
        .expect_err("missing queries.tsv accepted")
        .to_string();
    let want = format!("{}: cannot read: ", dir.path().join(QUERIES_FILE).display());
    assert!(e.starts_with(&want), "{e}");
    // With the file present the directory loads, and errors name its path.
    std::fs::write(
        dir.path().join(QUERIES_FILE),
        QUERIES.replacen("d2", "d7", 1),
    )
    .unwrap();
    let e = EvalSet::load(dir.path())
        .expect_err("bad doc_id accepted")
        .to_string();
    let want = format!(
        "{} line 2: doc_id:",
        dir.path().join(QUERIES_FILE).display()
    );
    assert!(e.starts_with(&want), "{e}");
}
