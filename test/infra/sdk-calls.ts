import * as path from 'node:path';
import ts from 'typescript';

/** The repository root. */
export const PROJECT_ROOT = path.resolve(import.meta.dirname, '..', '..');

/** One AWS SDK command a Lambda entry's code can send, and where. */
export interface SdkCall {
  /** The command class, e.g. `SendCommandCommand`. */
  readonly command: string;
  /** The package it comes from, e.g. `@aws-sdk/client-ssm`. */
  readonly module: string;
  /** `file:line` of the reference, relative to the repository root. */
  readonly site: string;
  /** The command's input names a secondary index (`IndexName`): a Query on an index, not the table. */
  readonly onIndex: boolean;
  /** The operations of a transaction (`Put`, `Update`, `Delete`, `ConditionCheck`, `Get`) found beside it. */
  readonly transactOperations: readonly string[];
}

/** Code the analysis cannot map to commands: it fails the coverage test with this message. */
export interface Unmapped {
  readonly what: string;
  readonly site: string;
}

export interface EntryAnalysis {
  readonly calls: readonly SdkCall[];
  readonly unmapped: readonly Unmapped[];
  /** The project files whose code the entry can run (for the test's own checks). */
  readonly files: readonly string[];
  /**
   * Port methods (interfaces of lambdas/ports.ts) the code can call although the entry
   * instantiates no class that implements them: a port its entry does not wire, `Port.method at file:line`.
   */
  readonly unwired: readonly string[];
}

/** Ports wired as plain objects rather than class instances, which the walk cannot see as implementations. */
const OBJECT_PORTS: ReadonlySet<string> = new Set(['Clock']);

/** Library classes that send AWS calls themselves, by the commands they send. */
const LIBRARY_SENDERS = new Map<string, { readonly module: string; readonly commands: readonly string[] }>([
  // Powertools idempotency's DynamoDB store reads, writes, updates and deletes its records.
  [
    'DynamoDBPersistenceLayer',
    { module: '@aws-sdk/lib-dynamodb', commands: ['GetCommand', 'PutCommand', 'UpdateCommand', 'DeleteCommand'] },
  ],
]);

const TRANSACT_OPERATIONS = new Set(['Put', 'Update', 'Delete', 'ConditionCheck', 'Get']);

type FunctionLike =
  | ts.FunctionDeclaration
  | ts.MethodDeclaration
  | ts.ConstructorDeclaration
  | ts.GetAccessorDeclaration
  | ts.SetAccessorDeclaration
  | ts.ArrowFunction
  | ts.FunctionExpression;

const isFunctionLike = (node: ts.Node): node is FunctionLike =>
  ts.isFunctionDeclaration(node) ||
  ts.isMethodDeclaration(node) ||
  ts.isConstructorDeclaration(node) ||
  ts.isGetAccessorDeclaration(node) ||
  ts.isSetAccessorDeclaration(node) ||
  ts.isArrowFunction(node) ||
  ts.isFunctionExpression(node);

/** The package a declaration file belongs to (`@aws-sdk/client-ssm`), or undefined for project code. */
function packageOf(file: string): string | undefined {
  const at = file.lastIndexOf('/node_modules/');
  if (at < 0) return undefined;
  const parts = file.slice(at + '/node_modules/'.length).split('/');
  return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

/**
 * What the code of Lambda entry files can send to AWS, found by static
 * reachability over the TypeScript program (one program for every entry).
 *
 * From an entry module, it walks what runs: the top-level code of every module
 * the entry imports (transitively, value imports only), and the body of every
 * function, method, constructor or initializer that reachable code refers to,
 * resolved by the type checker. A call through an interface or a base class
 * (`deps.fleet.send`) reaches the member of every class that reachable code
 * instantiates and that is assignable to that type (rapid type analysis), so
 * the local adapters, which no Lambda entry instantiates, are never counted.
 * Nested functions count as called. Every value reference to an `*Command`
 * export of an `@aws-sdk/*` package is a command the code can send.
 *
 * This over-approximates (a branch never taken still counts). It follows
 * what the Lambda code does (direct calls, methods, closures, function values,
 * ports); it does not follow a call on an `any` value or through a computed
 * name (`obj[name]()`). An aggregated client (`new SSM()`) or a waiter, whose
 * commands have no class to find, is reported as unmapped, which fails the
 * coverage test.
 */
export class SdkCallAnalyzer {
  private readonly program: ts.Program;
  private readonly checker: ts.TypeChecker;
  private readonly cache = new Map<string, EntryAnalysis>();

  constructor(entries: readonly string[]) {
    const configFile = ts.readConfigFile(path.join(PROJECT_ROOT, 'tsconfig.json'), ts.sys.readFile);
    if (configFile.error) throw new Error(ts.flattenDiagnosticMessageText(configFile.error.messageText, '\n'));
    const { options } = ts.parseJsonConfigFileContent(configFile.config, ts.sys, PROJECT_ROOT);
    this.program = ts.createProgram({ rootNames: [...entries], options });
    this.checker = this.program.getTypeChecker();
  }

  analyze(entry: string): EntryAnalysis {
    const cached = this.cache.get(entry);
    if (cached) return cached;
    const source = this.program.getSourceFile(entry);
    if (!source) throw new Error(`${entry} is not in the analyzed program`);
    const result = new EntryWalk(this.checker).run(source);
    this.cache.set(entry, result);
    return result;
  }
}

/** One entry's reachability walk. */
class EntryWalk {
  private readonly visited = new Set<ts.Node>();
  private readonly modules = new Set<ts.SourceFile>();
  private readonly queue: ts.Node[] = [];
  private readonly instantiated = new Set<ts.ClassLikeDeclaration>();
  /** Members reached through a type: dispatched again to each class instantiated later. */
  private readonly dispatched: { readonly type: ts.Type; readonly container: ts.Node; readonly name: string }[] = [];
  private readonly dispatchedKeys = new Set<string>();
  private readonly calls = new Map<string, SdkCall>();
  private readonly unmapped = new Map<string, Unmapped>();

  constructor(private readonly checker: ts.TypeChecker) {}

  run(entry: ts.SourceFile): EntryAnalysis {
    this.loadModule(entry);
    // What the entry exports is what the Lambda runtime may call (its `handler`).
    const exported = this.checker.getSymbolAtLocation(entry);
    for (const symbol of exported ? this.checker.getExportsOfModule(exported) : []) this.reach(symbol, entry);
    for (let node = this.queue.shift(); node; node = this.queue.shift()) this.walk(node);
    return {
      calls: [...this.calls.values()].sort((a, b) => a.command.localeCompare(b.command) || a.site.localeCompare(b.site)),
      unmapped: [...this.unmapped.values()],
      files: [...this.modules].map((m) => path.relative(PROJECT_ROOT, m.fileName)).sort(),
      unwired: this.unwiredPorts(),
    };
  }

  private unwiredPorts(): string[] {
    const out = new Set<string>();
    for (const member of this.dispatched) {
      const container = member.container;
      if (!ts.isInterfaceDeclaration(container) || OBJECT_PORTS.has(container.name.text)) continue;
      if (path.relative(PROJECT_ROOT, container.getSourceFile().fileName) !== 'lambdas/ports.ts') continue;
      // Methods only: a property of a port interface is data (a record's field), not a call to an adapter.
      const isMethod = container.members.some((m) => ts.isMethodSignature(m) && m.name.getText() === member.name);
      if (!isMethod) continue;
      const implemented = [...this.instantiated].some((declaration) =>
        this.checker.isTypeAssignableTo(this.checker.getTypeAtLocation(declaration), member.type),
      );
      if (!implemented) out.add(`${container.name.text}.${member.name}`);
    }
    return [...out].sort();
  }

  private enqueue(node: ts.Node | undefined): void {
    if (!node || this.visited.has(node)) return;
    this.visited.add(node);
    this.queue.push(node);
  }

  /** A module's top-level code runs when it is imported; its value imports load too. */
  private loadModule(file: ts.SourceFile): void {
    if (this.modules.has(file) || file.isDeclarationFile || packageOf(file.fileName)) return;
    this.modules.add(file);
    for (const statement of file.statements) {
      if (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) {
        const typeOnly = ts.isImportDeclaration(statement) ? statement.importClause?.isTypeOnly : statement.isTypeOnly;
        if (typeOnly || !statement.moduleSpecifier) continue;
        const target = this.checker.getSymbolAtLocation(statement.moduleSpecifier)?.valueDeclaration;
        if (target && ts.isSourceFile(target)) this.loadModule(target);
        continue;
      }
      if (ts.isFunctionDeclaration(statement) || ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) continue;
      if (ts.isVariableStatement(statement)) {
        // A function held in a variable runs when it is referenced and called, like a function declaration.
        for (const declaration of statement.declarationList.declarations) {
          const init = declaration.initializer;
          if (init && !ts.isArrowFunction(init) && !ts.isFunctionExpression(init)) this.enqueue(init);
        }
        continue;
      }
      if (ts.isClassDeclaration(statement)) {
        // Only static initializers run at load; the rest runs when the class is instantiated or its members are used.
        for (const member of statement.members) {
          if (ts.isClassStaticBlockDeclaration(member)) this.enqueue(member);
          if (ts.isPropertyDeclaration(member) && isStatic(member)) this.enqueue(member.initializer);
        }
        continue;
      }
      this.enqueue(statement);
    }
  }

  private walk(root: ts.Node): void {
    const visit = (node: ts.Node): void => {
      if (ts.isTypeNode(node) && !ts.isExpressionWithTypeArguments(node)) return;
      if (ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node) || ts.isImportDeclaration(node)) return;
      if (ts.isIdentifier(node) || ts.isPrivateIdentifier(node)) this.reference(node);
      ts.forEachChild(node, visit);
    };
    visit(root);
  }

  private reference(node: ts.Identifier | ts.PrivateIdentifier): void {
    const parent = node.parent;
    // A declaration's own name is not a use, except `{ records }`, which reads the variable `records`.
    if (ts.isShorthandPropertyAssignment(parent)) {
      const value = this.checker.getShorthandAssignmentValueSymbol(parent);
      if (value) this.reach(value, node);
      return;
    }
    if (isDeclarationName(node)) return;
    const symbol = this.checker.getSymbolAtLocation(node);
    if (symbol) this.reach(symbol, node);
  }

  private reach(found: ts.Symbol, at: ts.Node): void {
    const symbol = found.flags & ts.SymbolFlags.Alias ? this.checker.getAliasedSymbol(found) : found;
    for (const declaration of symbol.declarations ?? []) {
      const file = declaration.getSourceFile();
      const pkg = packageOf(file.fileName);
      if (pkg) {
        this.library(pkg, symbol.name, declaration, at);
        continue;
      }
      if (ts.isSourceFile(declaration)) continue;
      this.loadModule(file);
      if (isFunctionLike(declaration)) this.enqueue(declaration);
      if (ts.isVariableDeclaration(declaration) || ts.isPropertyAssignment(declaration)) this.enqueue(declaration.initializer);
      if (ts.isClassDeclaration(declaration) || ts.isClassExpression(declaration)) {
        const call = at.parent;
        if (call && ts.isNewExpression(call) && call.expression === at) this.instantiate(declaration);
      }
      if (isMember(declaration)) {
        if (ts.isPropertyDeclaration(declaration)) this.enqueue(declaration.initializer);
        this.dispatch(declaration);
      }
    }
  }

  /** A reference into a package: an SDK command, a library class that sends calls, or something the walk cannot map. */
  private library(pkg: string, name: string, declaration: ts.Declaration, at: ts.Node): void {
    const site = siteOf(at);
    const sender = LIBRARY_SENDERS.get(name);
    if (sender) {
      for (const command of sender.commands) this.record(command, sender.module, `${site} (${name})`, false, []);
      return;
    }
    if (!pkg.startsWith('@aws-sdk/')) return;
    if (name.endsWith('Command') && (ts.isClassDeclaration(declaration) || ts.isVariableDeclaration(declaration))) {
      const input = commandInput(at);
      this.record(name, pkg, site, input ? hasProperty(input, 'IndexName') : false, transactOperations(at, name));
      return;
    }
    const paginated = /^paginate(\w+)$/.exec(name);
    if (paginated) {
      this.record(`${paginated[1]}Command`, pkg, site, false, []);
      return;
    }
    if (/^waitUntil/.test(name)) {
      this.unmapped.set(`${name}@${site}`, { what: `the waiter ${name} (${pkg}): send its describe command yourself`, site });
      return;
    }
    if (pkg.startsWith('@aws-sdk/client-') && ts.isClassDeclaration(declaration) && !/(Client|Exception)$/.test(name)) {
      this.unmapped.set(`${name}@${site}`, {
        what: `the aggregated client ${name} (${pkg}): its methods name no command class; use the bare client and its *Command classes`,
        site,
      });
    }
  }

  private record(command: string, module: string, site: string, onIndex: boolean, transact: readonly string[]): void {
    this.calls.set(`${command}@${site}`, { command, module, site, onIndex, transactOperations: transact });
  }

  /** A `new C()` runs C's constructor, its field initializers and its base class's. */
  private instantiate(declaration: ts.ClassLikeDeclaration): void {
    if (this.instantiated.has(declaration)) return;
    this.instantiated.add(declaration);
    this.loadModule(declaration.getSourceFile());
    for (const member of declaration.members) {
      if (ts.isConstructorDeclaration(member)) this.enqueue(member);
      if (ts.isPropertyDeclaration(member) && !isStatic(member)) this.enqueue(member.initializer);
    }
    for (const clause of declaration.heritageClauses ?? []) {
      if (clause.token !== ts.SyntaxKind.ExtendsKeyword) continue;
      for (const base of clause.types) {
        const symbol = this.checker.getSymbolAtLocation(base.expression);
        const resolved = symbol && symbol.flags & ts.SymbolFlags.Alias ? this.checker.getAliasedSymbol(symbol) : symbol;
        for (const d of resolved?.declarations ?? []) {
          if (!packageOf(d.getSourceFile().fileName) && (ts.isClassDeclaration(d) || ts.isClassExpression(d))) this.instantiate(d);
        }
      }
    }
    for (const member of this.dispatched) this.implement(declaration, member);
  }

  /** A member used through a type: every instantiated class of that type may be the one called. */
  private dispatch(member: ts.Declaration): void {
    const container = member.parent;
    const memberName = (member as ts.NamedDeclaration).name;
    const name = memberName && ts.isIdentifier(memberName) ? memberName.text : undefined;
    if (!container || !name) return;
    const key = `${container.pos}:${container.getSourceFile().fileName}:${name}`;
    if (this.dispatchedKeys.has(key)) return;
    this.dispatchedKeys.add(key);
    const entry = { type: this.checker.getTypeAtLocation(container), container, name };
    this.dispatched.push(entry);
    for (const declaration of this.instantiated) this.implement(declaration, entry);
  }

  private implement(declaration: ts.ClassLikeDeclaration, member: { type: ts.Type; container: ts.Node; name: string }): void {
    const instanceType = this.checker.getTypeAtLocation(declaration);
    if (declaration !== member.container && !this.checker.isTypeAssignableTo(instanceType, member.type)) return;
    for (const d of this.checker.getPropertyOfType(instanceType, member.name)?.declarations ?? []) {
      if (packageOf(d.getSourceFile().fileName)) continue;
      if (isFunctionLike(d)) this.enqueue(d);
      if (ts.isPropertyDeclaration(d)) this.enqueue(d.initializer);
    }
  }
}

const isStatic = (member: ts.ClassElement) => ts.getCombinedModifierFlags(member as ts.Declaration) & ts.ModifierFlags.Static;

function isMember(declaration: ts.Declaration): declaration is ts.ClassElement | ts.TypeElement {
  const container = declaration.parent;
  return (
    !!container &&
    (ts.isClassDeclaration(container) ||
      ts.isClassExpression(container) ||
      ts.isInterfaceDeclaration(container) ||
      ts.isTypeLiteralNode(container)) &&
    (ts.isMethodDeclaration(declaration) ||
      ts.isMethodSignature(declaration) ||
      ts.isPropertyDeclaration(declaration) ||
      ts.isPropertySignature(declaration) ||
      ts.isGetAccessorDeclaration(declaration) ||
      ts.isSetAccessorDeclaration(declaration))
  );
}

function isDeclarationName(node: ts.Node): boolean {
  const parent = node.parent as ts.Node & { name?: ts.Node };
  return (
    parent.name === node &&
    (ts.isVariableDeclaration(parent) ||
      ts.isParameter(parent) ||
      ts.isFunctionDeclaration(parent) ||
      ts.isClassDeclaration(parent) ||
      ts.isMethodDeclaration(parent) ||
      ts.isPropertyDeclaration(parent) ||
      ts.isPropertyAssignment(parent) ||
      ts.isGetAccessorDeclaration(parent) ||
      ts.isSetAccessorDeclaration(parent) ||
      ts.isBindingElement(parent) ||
      ts.isEnumMember(parent))
  );
}

function siteOf(node: ts.Node): string {
  const file = node.getSourceFile();
  const { line } = file.getLineAndCharacterOfPosition(node.getStart());
  return `${path.relative(PROJECT_ROOT, file.fileName)}:${line + 1}`;
}

/** The object literal given to `new XCommand({...})`, when the reference is such a construction. */
function commandInput(at: ts.Node): ts.ObjectLiteralExpression | undefined {
  const call = at.parent;
  if (!call || !ts.isNewExpression(call) || call.expression !== at) return undefined;
  const input = call.arguments?.[0];
  return input && ts.isObjectLiteralExpression(input) ? input : undefined;
}

function hasProperty(literal: ts.ObjectLiteralExpression, name: string): boolean {
  return literal.properties.some((p) => p.name && ts.isIdentifier(p.name) && p.name.text === name);
}

/** For a transaction command: the operation names (`Put`, `Update`, ...) of object literals in the enclosing function. */
function transactOperations(at: ts.Node, command: string): string[] {
  if (!/^Transact(Write|Get)(Items)?Command$/.test(command)) return [];
  let scope: ts.Node = at;
  while (scope.parent && !isFunctionLike(scope) && !ts.isSourceFile(scope)) scope = scope.parent;
  const found = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name) && TRANSACT_OPERATIONS.has(node.name.text)) found.add(node.name.text);
    ts.forEachChild(node, visit);
  };
  visit(scope);
  return [...found].sort();
}
