//! The dashboard's files, compiled into the binary so an installed `lightsync` needs nothing from
//! the repository: the templates (handed to rocket_dyn_templates through a private directory that
//! lives exactly as long as the Rocket instance), the stylesheet, the script and the favicon,
//! served from memory. It owns no page logic.

use std::path::Path;

use rocket::http::{ContentType, Status};
use rocket::{get, routes, Route};

/// The templates, by the file name rocket_dyn_templates derives their name and content type from.
const TEMPLATES: [(&str, &str); 6] = [
    (
        "layout.html.tera",
        include_str!("../../templates/layout.html.tera"),
    ),
    (
        "login.html.tera",
        include_str!("../../templates/login.html.tera"),
    ),
    (
        "overview.html.tera",
        include_str!("../../templates/overview.html.tera"),
    ),
    (
        "history.html.tera",
        include_str!("../../templates/history.html.tera"),
    ),
    (
        "run.html.tera",
        include_str!("../../templates/run.html.tera"),
    ),
    (
        "error.html.tera",
        include_str!("../../templates/error.html.tera"),
    ),
];

/// The favicon: the brand's initial in the dashboard's "healthy" green on its header's ink.
const FAVICON_SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1d2433"/><path d="M11 7v18h11" fill="none" stroke="#2e9d5b" stroke-width="4" stroke-linecap="round" stroke-linejoin="round"/></svg>"##;

/// The compiled-in templates written out for rocket_dyn_templates, which only discovers templates
/// on disk (templates registered in memory would be served as text/plain). Rocket reads them when
/// it ignites; the directory is removed when this value drops, i.e. when the Rocket instance that
/// manages it is dropped after shutdown.
pub(crate) struct TemplateDir {
    dir: tempfile::TempDir,
}

impl TemplateDir {
    /// A new private directory holding every template.
    pub(crate) fn create() -> anyhow::Result<TemplateDir> {
        let dir = tempfile::Builder::new()
            .prefix("lightsync-templates-")
            .tempdir()
            .map_err(|err| {
                anyhow::anyhow!(
                    "cannot create a directory for the dashboard's templates in {} (set TMPDIR to a writable directory): {err}",
                    std::env::temp_dir().display()
                )
            })?;
        for (name, text) in TEMPLATES {
            std::fs::write(dir.path().join(name), text)?;
        }
        Ok(TemplateDir { dir })
    }

    /// The directory, for Rocket's `template_dir` setting.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }
}

#[get("/static/app.css")]
fn stylesheet() -> (ContentType, &'static str) {
    (ContentType::CSS, include_str!("../../static/app.css"))
}

#[get("/static/app.js")]
fn script() -> (ContentType, &'static str) {
    (ContentType::JavaScript, include_str!("../../static/app.js"))
}

#[get("/static/favicon.svg")]
fn favicon_svg() -> (ContentType, &'static str) {
    (ContentType::SVG, FAVICON_SVG)
}

/// Browsers ask for `/favicon.ico` unprompted; answer quietly instead of logging a missing route.
#[get("/favicon.ico")]
fn favicon_ico() -> Status {
    Status::NoContent
}

/// The routes serving the compiled-in files.
pub(crate) fn routes() -> Vec<Route> {
    routes![stylesheet, script, favicon_svg, favicon_ico]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_directory_holds_every_template_and_goes_away_when_dropped() {
        let dir = TemplateDir::create().unwrap();
        let path = dir.path().to_path_buf();
        for (name, text) in TEMPLATES {
            assert_eq!(std::fs::read_to_string(path.join(name)).unwrap(), text);
        }
        drop(dir);
        assert!(!path.exists());
    }

    #[test]
    fn every_template_file_is_compiled_in() {
        let on_disk: std::collections::BTreeSet<String> =
            std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/templates"))
                .unwrap()
                .map(|entry| entry.unwrap().file_name().into_string().unwrap())
                .collect();
        let compiled: std::collections::BTreeSet<String> =
            TEMPLATES.iter().map(|(name, _)| name.to_string()).collect();
        assert_eq!(on_disk, compiled, "add new templates to TEMPLATES");
    }
}
