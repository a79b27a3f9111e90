//! A digit drawn in the terminal beside its ten class probabilities, and written as a PNG.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

/// Pixel shades from black (0) to white (255), one for each fifth of the byte range.
const SHADES: [&str; 5] = [" ", "░", "▒", "▓", "█"];
/// A bar's last character: 0 to 7 eighths of a full block.
const EIGHTHS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
/// The characters of a bar at probability 1.
const BAR_WIDTH: usize = 30;

/// The image `pixels` (`cols` to a row, two characters to a pixel, blank rows above and below
/// the digit left out) with, to its right and centred on it, one bar for each class's
/// probability; the true class and the most probable one are marked.
pub fn digit_beside_probabilities(pixels: &[u8], cols: usize, probabilities: &[f32], label: usize) -> String {
    let inked = |row: &[u8]| row.iter().any(|&p| usize::from(p) * SHADES.len() >= 256);
    let rows: Vec<&[u8]> = pixels.chunks(cols).collect();
    let first = rows.iter().position(|row| inked(row)).unwrap_or(0);
    let last = rows.iter().rposition(|row| inked(row)).map_or(rows.len(), |last| last + 1);
    let image: Vec<String> = rows[first..last]
        .iter()
        .map(|row| row.iter().map(|&p| SHADES[usize::from(p) * SHADES.len() / 256].repeat(2)).collect())
        .collect();
    let predicted = (0..probabilities.len())
        .fold(0, |best, c| if probabilities[c] > probabilities[best] { c } else { best });
    let bars: Vec<String> = probabilities
        .iter()
        .enumerate()
        .map(|(class, &p)| {
            let mark = match (class == label, class == predicted) {
                (true, true) => "  true, predicted",
                (true, false) => "  true",
                (false, true) => "  predicted",
                (false, false) => "",
            };
            format!("{class} {} {p:.4}{mark}", bar(p))
        })
        .collect();
    let top = image.len().saturating_sub(bars.len()) / 2;
    let blank = " ".repeat(2 * cols);
    let mut text = String::new();
    for line in 0..image.len().max(top + bars.len()) {
        let left = image.get(line).unwrap_or(&blank);
        let right = line.checked_sub(top).and_then(|i| bars.get(i)).map_or("", String::as_str);
        text += format!("{left}   {right}").trim_end();
        text.push('\n');
    }
    text
}

/// A horizontal bar `p * BAR_WIDTH` characters long, to an eighth of a character, padded to `BAR_WIDTH`.
fn bar(p: f32) -> String {
    let eighths = (p.clamp(0.0, 1.0) * (BAR_WIDTH * 8) as f32).round() as usize;
    let bar = "█".repeat(eighths / 8) + EIGHTHS[eighths % 8];
    format!("{bar:<BAR_WIDTH$}")
}

/// Writes the image `pixels` (`cols` to a row) as an 8-bit grey PNG, each pixel a `scale` x
/// `scale` square.
pub fn write_png(path: &Path, pixels: &[u8], cols: usize, scale: usize) -> ferronet::Result<()> {
    let rows = pixels.len() / cols;
    let mut scaled = Vec::with_capacity(pixels.len() * scale * scale);
    for row in pixels.chunks(cols) {
        let wide: Vec<u8> = row.iter().flat_map(|&p| std::iter::repeat_n(p, scale)).collect();
        for _ in 0..scale {
            scaled.extend_from_slice(&wide);
        }
    }
    let io = |source| ferronet::Error::Io { path: path.to_path_buf(), source };
    let file = File::create(path).map_err(io)?;
    let mut encoder = png::Encoder::new(BufWriter::new(file), (cols * scale) as u32, (rows * scale) as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| io(std::io::Error::other(e)))?;
    writer.write_image_data(&scaled).map_err(|e| io(std::io::Error::other(e)))?;
    writer.finish().map_err(|e| io(std::io::Error::other(e)))
}
