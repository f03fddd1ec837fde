// TEMP STUB
pub fn unified_diff(_path: &str, _old: Option<&str>, _new: Option<&str>) -> String {
    String::new()
}
