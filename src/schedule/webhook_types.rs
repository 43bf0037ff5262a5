//! What each of Lightspeed's webhook types says changed. A webhook only says "look now": the
//! follower runs the entities it names (mode `webhook`). The payload is never data: the run
//! fetches from the API, so a forged or replayed webhook can cost requests, never change a row.

use crate::entity::Entity;

/// Every webhook type lightsync acts on (`lightsync webhooks install` registers these).
pub const WEBHOOK_TYPES: [&str; 7] = [
    "sale.update",
    "product.update",
    "customer.update",
    "inventory.update",
    "consignment.send",
    "consignment.receive",
    "register_closure.create",
];

/// The entities a webhook type names; `None` for a type lightsync does not know.
pub fn entities_for(kind: &str) -> Option<&'static [Entity]> {
    Some(match kind {
        "sale.update" => &[Entity::Sales],
        "product.update" => &[Entity::Products],
        "customer.update" => &[Entity::Customers],
        "inventory.update" => &[Entity::Inventory],
        "consignment.send" | "consignment.receive" => &[Entity::Consignments, Entity::Inventory],
        "register_closure.create" => &[Entity::Registers, Entity::Sales],
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_type_names_its_entities() {
        for kind in WEBHOOK_TYPES {
            assert!(entities_for(kind).is_some_and(|e| !e.is_empty()), "{kind}");
        }
        assert_eq!(entities_for("sale.update"), Some(&[Entity::Sales][..]));
        assert_eq!(entities_for("sale.delete"), None);
    }
}
