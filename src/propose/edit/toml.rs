pub fn find(_src: &str, _name: &str) -> anyhow::Result<super::Literal> {
    anyhow::bail!("todo")
}
