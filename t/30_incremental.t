# Incremental packages (docs/packages.md): a full package, then one made with
# real tar that carries only a changed file, a new file and json/main.json,
# with prep-incremental.json naming the corte served as its base and a
# deleted path.  The new corte serves the change and the new file, the
# deleted path answers 404, the files it did not carry are byte-identical
# and their gzip variants reused (status corte.variants.reused).  An
# incremental package over an older corte is refused as base-mismatch (its
# reason in the status, rejected/NAME.reason, the counters) and the corte
# stays; a bad manifest is refused as incremental.  Feed: parcial.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use File::Path qw(make_path);
use File::Copy qw(copy);
use File::Basename qw(dirname);
use IO::Uncompress::Gunzip qw(gunzip);
use PrepTest;

my $feed = 'parcial';
my $base = "/prep/$feed";
my $sto  = store($feed);
my $tmp  = tmp_dir();

# The base: a generated package of corte 21:05.
my $full = make_package(out => "$tmp/PREP_2105.tar.gz", corte => '2024-06-02T21:05:00-06:00',
                        seed => 30, files => 120);
my $tree = extract_package($full);
my @files = tree_files($tree);
my ($f) = upload_and_wait($full, $feed, timeout => 20);
ok $f, 'the full package is published' or give_up('parcial: no corte');
my $id0 = $f->{corte}{id};

my @csv = grep { m{\.csv$} } @files;
my @json = grep { m{^json/.+\.json$} && $_ ne 'json/main.json' } @files;
ok @csv >= 1 && @json >= 3, 'the package has CSV and JSON files to change, keep and delete'
    or give_up('genpackage made no such files: ' . join(' ', @files));
my $changed = $json[0];
my $deleted = $json[1];
my $kept    = $csv[0];
my $new     = 'json/nuevo/aviso.json';

# An incremental package NAME over BASE at corte HHMM, its top folder
# prep_qro as the full package's, made with tar: json/main.json, the files
# of %carry and the manifest (raw text, or made of base and deleted).
sub incremental {
    my ($name, $hhmm, %o) = @_;
    my $dir = "$tmp/$name.d";
    my $top = "$dir/prep_qro";
    make_path("$top/json");
    (my $main = slurp("$tree/json/main.json")) =~ s/2024-06-02T21:05:00-06:00/2024-06-02T$hhmm:00-06:00/g;
    spit("$top/json/main.json", $main);
    for my $path (sort keys %{ $o{carry} || {} }) {
        make_path(dirname("$top/$path"));
        spit("$top/$path", $o{carry}{$path});
    }
    my $manifest = $o{manifest} // sprintf '{"base": "%s", "deleted": [%s]}', $o{base},
        join ', ', map { qq{"$_"} } @{ $o{deleted} || [] };
    spit("$top/prep-incremental.json", $manifest);
    system('tar', '-C', $dir, '-czf', "$tmp/$name", 'prep_qro') == 0 or die "tar failed\n";
    return "$tmp/$name";
}

# --- an incremental package over the corte served -------------------
my $inc = incremental('PREP_2110_inc.tar.gz', '21:10', base => $id0, deleted => [$deleted],
                      carry => { $changed => qq({"cambiado": true}\n), $new => qq({"nuevo": 1}\n) });
my ($g) = upload_and_wait($inc, $feed, timeout => 20);
ok $g, 'the incremental package is published' or give_up('parcial: ' . explain(status_feed($feed)));
my $id1 = $g->{corte}{id};
isnt $id1, $id0, 'a new corte';
is $g->{corte}{time}, '2024-06-02T21:10:00-06:00', 'its corte time is that of the merged json/main.json';
is $g->{corte}{package}, 'PREP_2110_inc.tar.gz', 'made from the incremental package';

my $r = http(GET => "$base/$changed");
is $r->code, 200, "the changed file $changed";
is $r->content, qq({"cambiado": true}\n), 'serves its new bytes';
is http(GET => "$base/$new")->content, qq({"nuevo": 1}\n), 'the new file is served';
is http(GET => "$base/$deleted")->code, 404, "the deleted path $deleted answers 404";
is http(GET => "$base/prep-incremental.json")->code, 404, 'the manifest is not a file of the corte';
is http(GET => "$base/json/main.json")->header('X-PREP-Corte'), '2024-06-02T21:10:00-06:00',
    'json/main.json is the new one';

# every file it did not carry, byte-identical to the full package's
my @same = grep { $_ ne $changed && $_ ne $deleted && $_ ne 'json/main.json' && !m{\.html?$} && !m{^\.|/\.} } @files;
my @differ = grep { sha256_hex(http(GET => "$base/$_")->content) ne sha256_hex(slurp("$tree/$_")) } @same;
is_deeply \@differ, [], scalar(@same) . ' files kept from the base are byte-identical';
my $gz = http(GET => "$base/$kept", 'Accept-Encoding' => 'gzip');
my $plain;
ok(($gz->header('Content-Encoding') // '') eq 'gzip' && gunzip(\($gz->content) => \$plain)
   && $plain eq slurp("$tree/$kept"), "$kept kept, its gzip variant inflates to its bytes");
my $variants = $g->{corte}{variants} || {};
cmp_ok $variants->{reused} // 0, '>', 0, 'status corte.variants.reused: the kept files\' variants reused'
    or diag explain $g->{corte};
my $idx = slurp("$sto/cortes/$id1/corte.json");
like $idx, qr/"files":\s*\d+/, 'corte.json of the new corte';
ok -e "$sto/processed/PREP_2110_inc.tar.gz", 'the incremental package set aside in processed/';
ok -d "$sto/cortes/$id0", 'the base corte is still retained';

# --- over an older corte: base-mismatch, the corte stays ------------
my $old = incremental('PREP_2115_viejo.tar.gz', '21:15', base => $id0, deleted => []);
upload_renamed($old, $feed);
my $rej = wait_rejected($feed, 'PREP_2115_viejo.tar.gz', 20);
ok $rej, 'an incremental package over an older corte is refused' or diag explain status_feed($feed);
is $rej && $rej->{reason}, 'base-mismatch', 'as base-mismatch';
like $rej && $rej->{message} // '', qr/\Q$id0\E.*\Q$id1\E/, 'the message names the base asked and the corte served';
ok wait_for(5, sub { -e "$sto/rejected/PREP_2115_viejo.tar.gz.reason" }), 'rejected/NAME.reason';
like slurp("$sto/rejected/PREP_2115_viejo.tar.gz.reason"), qr/base-mismatch/, 'NAME.reason names base-mismatch';
is corte_id($feed), $id1, 'the corte served stays';
ok wait_for(5, sub { grep { /"event":"refused"/ && /"reason":"base-mismatch"/ && /PREP_2115_viejo/ }
                     split /\n/, slurp("$sto/journal.jsonl") }),
    'the refusal in the journal, with its reason';
is http(GET => "$base/$changed")->content, qq({"cambiado": true}\n), 'and is still served';

# --- a bad manifest: incremental ---------------------------------------
my $bad = incremental('PREP_2120_malo.tar.gz', '21:20',
                      manifest => qq({"base": "$id1", "deleted": ["../fuera.json"]}));
upload_renamed($bad, $feed);
$rej = wait_rejected($feed, 'PREP_2120_malo.tar.gz', 20);
is $rej && $rej->{reason}, 'incremental', 'a manifest deleting "../fuera.json" is refused as incremental';
like $rej && $rej->{message} // '', qr/climbs out/, 'saying why';
my $miss = incremental('PREP_2121_falta.tar.gz', '21:21', base => $id1, deleted => ['json/no-existe.json']);
upload_renamed($miss, $feed);
$rej = wait_rejected($feed, 'PREP_2121_falta.tar.gz', 20);
is $rej && $rej->{reason}, 'incremental', 'a deletion of a path the base does not hold: incremental';
is corte_id($feed), $id1, 'the corte served stays';

my $c = (status_feed($feed) || {})->{counters} || {};
is_deeply $c->{refusals}, { 'base-mismatch' => 1, incremental => 2 }, 'counters.refusals by reason';

# --- the next incremental package over the corte served is taken -------
my $next = incremental('PREP_2125_inc.tar.gz', '21:25', base => '2024-06-02T21:10:00-06:00',
                       deleted => [$new]);
my ($h) = upload_and_wait($next, $feed, timeout => 20);
ok $h, 'an incremental package naming the corte served by its time is published';
is http(GET => "$base/$new")->code, 404, 'its deletion of the file the last one added';
is http(GET => "$base/$changed")->content, qq({"cambiado": true}\n), 'the last change kept';

done_testing;
