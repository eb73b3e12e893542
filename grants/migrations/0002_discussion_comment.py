from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('grants', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DiscussionComment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('application', fields.ForeignKeyField('grants.Application', source_field='application_id', db_constraint=True, to_field='id', related_name='discussion', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('grants.User', source_field='author_id', db_constraint=True, to_field='id', related_name='discussion_comments', on_delete=OnDelete.CASCADE)),
                ('body', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'discussioncomment', 'app': 'grants', 'pk_attr': 'id', 'table_description': "A juror's comment in the discussion of one application, shown to its panel's reviewers."},
            bases=['Model'],
        ),
    ]
