// Customer accounts: created by admins, visible to themselves and to admins.
import type { DbClient } from "../db/database.js";
import { primaryOnly, type Reads } from "../db/replicas.js";
import type { Customer } from "../generated/prisma/client.js";
import { isUniqueViolation } from "../db/errors.js";
import { canSeeCustomerData, requireAdmin, requireSignedIn, requireCustomer, type RequestContext } from "../auth/viewer.js";
import { DuplicateEmailError, NotFoundError } from "../errors/domain-errors.js";
import { alignByIds } from "../db/align-by-ids.js";
import { keysetQuery, type PageRequest } from "../db/keyset.js";
import { EMAIL, LIMITS, requireMatch, requireText } from "./limits.js";

export class CustomerService {
  constructor(
    private readonly prisma: DbClient,
    /** Reads of read-only requests may go to a replica; writes never. */
    private readonly reads: Reads = primaryOnly(prisma),
  ) {}

  async create(ctx: RequestContext, input: { email: string; name: string }): Promise<Customer> {
    requireAdmin(ctx);
    const email = requireMatch("email", input.email.trim().toLowerCase(), EMAIL, "an email address");
    const name = requireText("name", input.name, 1, LIMITS.maxNameLength);
    try {
      return await this.prisma.customer.create({ data: { email, name } });
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateEmailError(email);
      throw err;
    }
  }

  /** The calling customer. */
  async me(ctx: RequestContext): Promise<Customer> {
    const id = requireCustomer(ctx);
    const [me] = await this.byIds([id], ctx);
    if (!me) throw new NotFoundError("Customer", id);
    return me;
  }

  page(ctx: RequestContext, page: PageRequest): Promise<Customer[]> {
    requireAdmin(ctx);
    const { where, orderBy, take } = keysetQuery(page);
    return this.reads.run(ctx, (db) => db.customer.findMany({ where, orderBy, take }));
  }

  /** The account if the caller may see it (canSeeCustomerData), else null: as if it did not exist. */
  visible(ctx: RequestContext, customer: Customer | null): Customer | null {
    requireSignedIn(ctx);
    return customer && canSeeCustomerData(ctx, customer.id) ? customer : null;
  }

  async byIds(ids: readonly string[], ctx?: RequestContext): Promise<(Customer | null)[]> {
    return alignByIds(ids, await this.reads.run(ctx, (db) => db.customer.findMany({ where: { id: { in: [...ids] } } })));
  }
}
