//! The one tera set-up of the report: every page part and study section is
//! rendered through [`render_template`], with values escaped by [`escape_xml`].

use serde::Serialize;

/// Renders a template (source text, usually `include_str!`) named `name`
/// with `ctx`; every value is XML-escaped except where the template says
/// `| safe` (use that only for chart SVG).
pub fn render_template<T: Serialize>(
    name: &str,
    template: &str,
    ctx: &T,
) -> Result<String, String> {
    let mut tera = tera::Tera::default();
    // Registered under an .html name so tera autoescapes every value.
    tera.set_escape_fn(escape_xml);
    let key = format!("{name}.html");
    tera.add_raw_template(&key, template)
        .map_err(|e| format!("template {name}: {e}"))?;
    let ctx = tera::Context::from_serialize(ctx).map_err(|e| format!("context {name}: {e}"))?;
    tera.render(&key, &ctx)
        .map_err(|e| format!("template {name}: {e:?}"))
}

/// Escapes the five XML-special characters: enough for text and quoted
/// attributes, and keeps names like `matmul/w8a8` readable in the source
/// (tera's default also escapes `/`).
pub fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
