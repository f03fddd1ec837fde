//! Shared invariant check for the editor fuzz targets.
use improve::propose::edit::{find, replace, tune, Format, Value};

/// A tune that succeeds must leave every byte outside the literal's span unchanged.
pub fn check_editor(format: Format, src: &str, name: &str) {
    let Ok(lit) = find(format, src, name) else {
        return;
    };
    assert_eq!(&src[lit.span.clone()], lit.text);
    for new in [0.5, 3.0, -1.25, 1e-7] {
        if let Ok((out, old)) = tune(format, src, name, new) {
            assert_eq!(old, lit.value);
            assert_eq!(&out[..lit.span.start], &src[..lit.span.start]);
            let tail = src.len() - lit.span.end;
            assert_eq!(&out[out.len() - tail..], &src[lit.span.end..]);
        }
    }
    let _ = replace(src, &lit, &Value::Str("x\"'\\\n".into()));
    let _ = replace(src, &lit, &Value::Bool(false));
}
