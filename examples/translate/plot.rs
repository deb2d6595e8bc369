//! An attention matrix as an SVG heat map, written by hand (a grid of
//! squares and two rows of labels need no plotting library).

use std::fmt::Write as _;
use std::path::Path;

/// Escapes the characters XML gives a meaning.
fn xml(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Draws `weights` (`rows.len()` rows of `columns.len()` numbers in
/// `[0, 1]`, row-major) as squares shaded by weight, the source characters
/// `columns` along the top and the output characters `rows` down the left,
/// into `path`.
pub fn attention_svg(path: &Path, title: &str, columns: &[String], rows: &[String], weights: &[f32]) -> std::io::Result<()> {
    const CELL: usize = 28;
    const LEFT: usize = 60;
    const TOP: usize = 70;
    assert_eq!(weights.len(), rows.len() * columns.len(), "one weight per row and column");
    let (width, height) = (LEFT + CELL * columns.len() + 20, TOP + CELL * rows.len() + 20);
    let mut svg = String::new();
    let _ = writeln!(svg, r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">"#);
    let _ = writeln!(svg, r#"<rect width="{width}" height="{height}" fill="white"/>"#);
    let _ = writeln!(svg, r#"<text x="{LEFT}" y="22" font-family="sans-serif" font-size="15">{}</text>"#, xml(title));
    let label = |svg: &mut String, x: usize, y: usize, text: &str| {
        let _ = writeln!(svg, r#"<text x="{x}" y="{y}" font-family="monospace" font-size="16" text-anchor="middle">{}</text>"#, xml(text));
    };
    for (j, c) in columns.iter().enumerate() {
        label(&mut svg, LEFT + CELL * j + CELL / 2, TOP - 10, c);
    }
    for (i, r) in rows.iter().enumerate() {
        label(&mut svg, LEFT - 20, TOP + CELL * i + CELL / 2 + 5, r);
        for j in 0..columns.len() {
            let w = weights[i * columns.len() + j].clamp(0.0, 1.0);
            let shade = (255.0 * (1.0 - w)).round() as u8;
            let _ = writeln!(
                svg,
                r#"<rect x="{}" y="{}" width="{CELL}" height="{CELL}" fill="rgb({shade},{shade},255)" stroke="rgb(221,221,221)"><title>{w:.3}</title></rect>"#,
                LEFT + CELL * j,
                TOP + CELL * i
            );
        }
    }
    svg.push_str("</svg>\n");
    std::fs::write(path, svg)
}
