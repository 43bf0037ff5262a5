//! The docs stay true: every command's `--help` as the real binary prints it is kept in
//! `docs/CLI.md` (rewritten with `LIGHTSYNC_UPDATE_SNAPSHOTS=1`), and every relative link in
//! the repository's Markdown resolves to a file that exists.

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use lightsync::cli::Cli;

const CLI_DOC: &str = "docs/CLI.md";

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every command path: `[]`, `["import"]`, `["checkpoint", "list"]`, ...
fn command_paths(command: &clap::Command, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(prefix.clone());
    for sub in command.get_subcommands() {
        let mut path = prefix.clone();
        path.push(sub.get_name().to_string());
        command_paths(sub, path, out);
    }
}

fn help_of(path: &[String]) -> String {
    let output = crate::support::bare_lightsync()
        .args(path)
        .arg("--help")
        .output()
        .expect("the lightsync binary runs");
    assert!(
        output.status.success(),
        "`lightsync {} --help` failed: {}",
        path.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("help is UTF-8")
}

fn render_cli_doc() -> String {
    let mut paths = Vec::new();
    command_paths(&Cli::command(), Vec::new(), &mut paths);
    let mut doc = String::from(
        "# Command-line reference\n\nEvery command's `--help`, exactly as the binary prints it. \
         A test compares this file with the binary; `LIGHTSYNC_UPDATE_SNAPSHOTS=1` rewrites it.\n",
    );
    for path in paths
        .iter()
        .filter(|path| path.first().map(String::as_str) != Some("help"))
    {
        if path.last().map(String::as_str) == Some("help") {
            continue;
        }
        let title = std::iter::once("lightsync")
            .chain(path.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ");
        doc.push_str(&format!(
            "\n## `{title}`\n\n```text\n{}```\n",
            help_of(path)
        ));
    }
    doc
}

#[test]
fn the_cli_reference_is_what_the_binary_prints() {
    let rendered = render_cli_doc();
    let path = repository().join(CLI_DOC);
    if std::env::var_os("LIGHTSYNC_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &rendered).expect("writing the CLI reference");
    }
    let kept = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        kept == rendered,
        "{CLI_DOC} differs from the binary's --help; review the change and rerun with LIGHTSYNC_UPDATE_SNAPSHOTS=1"
    );
    // The snapshot itself must tell the truth about the defaults it shows.
    let page_size = format!("[default: {}]", lightsync::config::DEFAULT_PAGE_SIZE);
    assert!(
        rendered.contains(&page_size),
        "--page-size's help names its default {page_size}"
    );
}

/// The Markdown files of the repository (not `target/`).
fn markdown_files() -> Vec<PathBuf> {
    let root = repository();
    let mut files = vec![root.join("README.md"), root.join("BENCHMARKS.md")];
    for dir in ["docs", "tests/fixtures/api2.0"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("the folder exists") {
            let path = entry.expect("a folder entry").path();
            if path.extension().is_some_and(|ext| ext == "md") {
                files.push(path);
            }
        }
    }
    files.retain(|file| file.exists());
    files
}

/// The targets of `[text](target)` links and `src="target"` attributes in `text`.
fn link_targets(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    for (open, close) in [("](", ')'), ("src=\"", '"')] {
        let mut rest = text;
        while let Some(at) = rest.find(open) {
            rest = &rest[at + open.len()..];
            if let Some(end) = rest.find(close) {
                targets.push(rest[..end].trim().to_string());
            }
        }
    }
    targets
}

fn is_relative(target: &str) -> bool {
    !(target.is_empty()
        || target.starts_with('#')
        || target.contains("://")
        || target.starts_with("mailto:"))
}

#[test]
fn every_relative_link_in_the_docs_resolves_inside_the_repository() {
    let root = repository();
    let mut broken = Vec::new();
    let files = markdown_files();
    assert!(files.len() >= 5, "the docs were found: {files:?}");
    for file in &files {
        let text = std::fs::read_to_string(file).expect("a Markdown file");
        assert!(
            !text.contains("../shared"),
            "{} points outside the repository",
            file.display()
        );
        let dir = file.parent().unwrap_or(Path::new("."));
        for target in link_targets(&text).into_iter().filter(|t| is_relative(t)) {
            let path = target.split('#').next().unwrap_or_default();
            let resolved = dir.join(path);
            let inside = resolved
                .canonicalize()
                .is_ok_and(|real| real.starts_with(root.canonicalize().unwrap()));
            if !inside {
                broken.push(format!(
                    "{}: {target}",
                    file.strip_prefix(&root).unwrap().display()
                ));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "links that do not resolve:\n{}",
        broken.join("\n")
    );
}
