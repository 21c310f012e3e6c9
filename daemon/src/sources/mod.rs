//! Where notices come from. Only the SuperSet portal for now; e-mail and the official page
//! join later.

pub mod superset;
