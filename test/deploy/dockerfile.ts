import t from 'tap'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join, posix } from 'node:path'
import { isIgnored, parseCopy, parseExecForm, parseInstructions, parseStages, workdirOf, type Copy, type Stage } from '../fixtures/dockerfile.js'
import { REPO_ROOT, buildDeploy, container, only, podTemplate } from '../fixtures/deploy.js'

const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8')
const dockerignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
const stages = parseStages(dockerfile)
const build = stages.find((s) => s.name === 'build')
const runtime = stages.at(-1)

const runs = (stage: Stage | undefined) => (stage?.instructions ?? []).filter((i) => i.keyword === 'RUN').map((i) => i.args)
const copies = (stage: Stage | undefined) => (stage?.instructions ?? []).filter((i) => i.keyword === 'COPY').map((i) => parseCopy(i.args))
const last = (stage: Stage | undefined, keyword: string) => stage?.instructions.filter((i) => i.keyword === keyword).at(-1)?.args

/**
 * Where COPY puts a source from the context: a directory's content goes into
 * the destination; a file goes into it when it ends with `/` or when there are
 * several sources, else it becomes the destination.
 */
function copyTarget(workdir: string, c: Copy, src: string): string {
  const dest = posix.resolve(workdir, c.destination)
  const isDirectory = statSync(join(REPO_ROOT, src), { throwIfNoEntry: false })?.isDirectory() ?? false
  if (isDirectory) return dest
  return c.destination.endsWith('/') || c.sources.length > 1 ? posix.join(dest, posix.basename(src)) : dest
}

t.test('the parser joins continued lines, skips comments and splits stages', async (t) => {
  const text = '# c\nARG V=1\nFROM a:1 AS one\nRUN x \\\n  # inner\n  && y\nFROM --platform=linux/amd64 b AS two\nCOPY --from=one /x ./y\n'
  t.strictSame(
    parseInstructions(text).map((i) => [i.keyword, i.args, i.line]),
    [['ARG', 'V=1', 2], ['FROM', 'a:1 AS one', 3], ['RUN', 'x && y', 4], ['FROM', '--platform=linux/amd64 b AS two', 7], ['COPY', '--from=one /x ./y', 8]],
    'instructions with their first line',
  )
  const parsed = parseStages(text)
  t.strictSame(parsed.map((s) => [s.image, s.name, s.instructions.length]), [['a:1', 'one', 1], ['b', 'two', 1]], 'two stages')
  t.strictSame(parseCopy('--from=one --chown=1:1 /x /y ./z'), { from: 'one', sources: ['/x', '/y'], destination: './z' }, 'COPY flags and paths')
  t.throws(() => parseExecForm('node dist/cli.js'), /not in exec form/, 'shell form refused')
  t.equal(workdirOf(parseInstructions('WORKDIR /a\nWORKDIR b\n')), '/a/b', 'relative WORKDIR resolves')
  t.ok(isIgnored('node_modules\n', 'node_modules/x/y.js'), 'a directory pattern excludes its content')
  t.notOk(isIgnored('*.log\n!keep.log\n', 'keep.log'), 'an exception re-includes')
  t.ok(isIgnored('*.log\n', 'a.log'), 'a glob matches')
})

/** The Node.js major of package.json "engines" (`>=22.12` → 22). */
const ENGINES_MAJOR = /(\d+)/.exec((JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node)?.[1]

t.test('the image is built in two stages from the slim image of the Node.js line package.json requires', async (t) => {
  const image = `node:${ENGINES_MAJOR}-bookworm-slim`
  t.equal(image, 'node:22-bookworm-slim', 'Node.js 22, an LTS line alive today')
  t.ok(stages.length >= 2, 'multi-stage')
  t.equal(build?.image, image, `a stage named build on ${image}`)
  t.equal(runtime?.image, image, `the runtime stage on ${image}`)
  t.not(runtime, build, 'the runtime is not the build stage')
  t.ok(runs(build).some((r) => /\bnpm ci\b/.test(r) && !r.includes('--omit=dev')), 'the build stage installs all dependencies')
  t.ok(runs(build).some((r) => r.includes('npm run build')), 'the build stage runs npm run build')
  t.ok(runs(runtime).some((r) => /\bnpm ci\b.*--omit=dev/.test(r)), 'the runtime installs production dependencies only')
  t.notOk(runs(runtime).some((r) => r.includes('npm run build')), 'the runtime does not build')
})

t.test('the build stage copies everything npm run build reads', async (t) => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  const buildScript = pkg.scripts.build ?? ''
  const workdir = workdirOf(build?.instructions ?? [])
  const copied = copies(build).filter((c) => c.from === undefined)
  // A repository path is where the build expects it when some COPY puts it at
  // the same path relative to the working directory.
  const inImage = (repoPath: string) =>
    copied.some((c) =>
      c.sources.some((src) => {
        if (repoPath !== src && !repoPath.startsWith(`${src}/`)) return false
        return posix.join(copyTarget(workdir, c, src), repoPath.slice(src.length)) === posix.resolve(workdir, repoPath)
      }),
    )
  const tsconfigBuild = JSON.parse(readFileSync(join(REPO_ROOT, 'tsconfig.build.json'), 'utf8')) as { extends?: string }
  // The files the build script names, the config it extends, and the sources.
  const needed = ['package.json', 'package-lock.json', ...(buildScript.match(/[\w./-]+\.(?:json|mjs|js)\b/g) ?? []), posix.normalize(tsconfigBuild.extends ?? 'tsconfig.json'), 'src/pixie/proto/vizierapi.proto', 'src/cli.ts']
  t.ok(needed.includes('scripts/copy-assets.mjs'), 'the build script\'s own files are found')
  for (const path of needed) t.ok(inImage(path), `${path} is copied into the build stage at the same relative path`)
})

t.test('every COPY from the context exists and is not excluded by .dockerignore', async (t) => {
  for (const stage of stages) {
    for (const c of copies(stage).filter((copy) => copy.from === undefined)) {
      for (const src of c.sources) {
        t.ok(existsSync(join(REPO_ROOT, src)), `${src} exists`)
        t.notOk(isIgnored(dockerignore, src), `${src} is in the build context`)
      }
    }
  }
})

t.test('the runtime stage gets dist/ from the build stage, and the build output has it', async (t) => {
  const fromBuild = copies(runtime).filter((c) => c.from === 'build')
  t.ok(fromBuild.length > 0, 'the runtime copies from the build stage')
  const buildWorkdir = workdirOf(build?.instructions ?? [])
  for (const c of fromBuild) {
    for (const src of c.sources) {
      const repoPath = posix.relative(buildWorkdir, posix.resolve(buildWorkdir, src))
      t.notOk(repoPath.startsWith('..'), `${src} lies inside the build stage's working directory`)
      t.not(repoPath.split('/')[0], 'node_modules', `${src}: dev dependencies are not carried over`)
      t.ok(existsSync(join(REPO_ROOT, repoPath)), `${src} exists in the build output (${repoPath}; npm run build makes it)`)
    }
  }
  t.ok(existsSync(join(REPO_ROOT, 'dist/cli.js')), 'dist/cli.js exists after npm run build')
  t.ok(existsSync(join(REPO_ROOT, 'dist/pixie/proto/vizierapi.proto')), 'dist/pixie/proto/vizierapi.proto exists after npm run build')
  const contextCopies = copies(runtime).filter((c) => c.from === undefined).flatMap((c) => c.sources)
  t.ok(contextCopies.includes('scenarios'), 'scenarios/ is in the image (the demo reads it)')
  t.ok(contextCopies.includes('package.json'), 'package.json is in the image (the version is read from it)')
})

t.test('the entrypoint is node dist/cli.js, and that file is in the runtime image', async (t) => {
  const entrypoint = parseExecForm(last(runtime, 'ENTRYPOINT') ?? '')
  t.strictSame(entrypoint, ['node', 'dist/cli.js'], 'ENTRYPOINT ["node", "dist/cli.js"]')
  const workdir = workdirOf(runtime?.instructions ?? [])
  const script = posix.resolve(workdir, entrypoint[1] ?? '')
  const buildWorkdir = workdirOf(build?.instructions ?? [])
  const provided = copies(runtime)
    .filter((c) => c.from === 'build')
    .some((c) => c.sources.some((src) => {
      const repoPath = posix.relative(buildWorkdir, posix.resolve(buildWorkdir, src))
      const dest = posix.resolve(workdir, c.destination)
      return script.startsWith(`${dest}/`) && existsSync(join(REPO_ROOT, repoPath, script.slice(dest.length + 1)))
    }))
  t.ok(provided, `${script} comes from a COPY --from=build whose source holds it`)
  t.equal(last(runtime, 'CMD'), undefined, 'no CMD: arguments go to the exporter')
})

t.test('the runtime user is the numeric non-root user of the manifests', async (t) => {
  const user = last(runtime, 'USER') ?? ''
  const match = /^(\d+)(?::(\d+))?$/.exec(user)
  t.ok(match, `USER is numeric (got ${JSON.stringify(user)})`)
  const pod = podTemplate(only(buildDeploy('base'), 'Deployment', 'pixie-exporter')).spec
  const security = { ...pod.securityContext, ...container(only(buildDeploy('base'), 'Deployment', 'pixie-exporter')).securityContext }
  t.not(Number(match?.[1]), 0, 'not root')
  t.equal(Number(match?.[1]), security.runAsUser, 'uid equals the manifests\' runAsUser')
  t.equal(Number(match?.[2]), security.runAsGroup, 'gid equals the manifests\' runAsGroup')
})

t.test('the runtime image carries the OCI labels, version and revision included', async (t) => {
  const labels = (runtime?.instructions ?? []).filter((i) => i.keyword === 'LABEL').map((i) => i.args).join(' ')
  for (const key of ['title', 'description', 'version', 'revision', 'created', 'licenses', 'source', 'documentation', 'base.name']) {
    t.match(labels, new RegExp(`\\borg\\.opencontainers\\.image\\.${key.replace('.', '\\.')}=`), `org.opencontainers.image.${key}`)
  }
  t.match(labels, /org\.opencontainers\.image\.version="\$VERSION"/, 'the version comes from a build argument')
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }
  const versionArg = (runtime?.instructions ?? []).find((i) => i.keyword === 'ARG' && i.args.startsWith('VERSION='))?.args
  t.equal(versionArg, `VERSION=${pkg.version}`, 'its default is package.json\'s version')
  t.match(dockerfile, /HEALTHCHECK[\s\S]*\/-\/healthy/, 'the Dockerfile explains health checks (none in the image: Kubernetes probes instead)')
})

t.test('EXPOSE equals the Service and container port', async (t) => {
  const objects = buildDeploy('base')
  const servicePort = (only(objects, 'Service', 'pixie-exporter').spec as { ports: { port: number }[] }).ports[0]?.port
  const containerPort = container(only(objects, 'Deployment', 'pixie-exporter')).ports?.[0]?.containerPort
  t.equal(last(runtime, 'EXPOSE'), String(servicePort), `EXPOSE ${servicePort}`)
  t.equal(servicePort, containerPort, 'the Service and the container use the same port')
})

t.test('.dockerignore keeps host builds, dependencies and git out of the context', async (t) => {
  for (const path of ['node_modules', 'node_modules/pino/package.json', 'dist', 'dist/cli.js', '.git', '.git/HEAD']) {
    t.ok(isIgnored(dockerignore, path), `${path} is excluded`)
  }
})
